import { createHash, timingSafeEqual } from 'node:crypto';
import type { ApiKeyConfig } from '../config/schema';

const SHA256_PREFIX = 'sha256:';

interface KeyEntry {
  readonly name: string;
  /** SHA-256 digest of the key, 32 bytes. */
  readonly digest: Buffer;
}

/**
 * The gateway's client keys, compiled for constant-time checks. Holds only names and SHA-256 digests;
 * the digests live outside the object, so serialising or inspecting a ring shows no key material.
 */
export interface GatewayKeyRing {
  /** Number of configured keys. */
  readonly size: number;
  /** The configured key names, in config order. */
  readonly names: readonly string[];
}

// Digests are kept off the ring object itself, so `JSON.stringify` / `util.inspect` cannot reveal them.
const digestsByRing = new WeakMap<GatewayKeyRing, readonly KeyEntry[]>();

/** Hex SHA-256 of a key (lower-case); `sha256:` + this is the config form that avoids storing the plain key. */
export function sha256Hex(key: string): string {
  return digestOf(key).toString('hex');
}

/**
 * Compiles `apiKeys` (SPEC §3) into a ring: a `sha256:<hex>` key is used as the digest (hex case-insensitive),
 * a plain key is hashed now and not retained.
 */
export function compileGatewayKeys(apiKeys: readonly ApiKeyConfig[]): GatewayKeyRing {
  const entries: KeyEntry[] = apiKeys.map(({ name, key }) => ({ name, digest: configuredDigest(name, key) }));
  const ring: GatewayKeyRing = Object.freeze({
    size: entries.length,
    names: Object.freeze(entries.map((entry) => entry.name)),
  });
  digestsByRing.set(ring, Object.freeze(entries));
  return ring;
}

/**
 * The key a client presented, trying in order `Authorization: Bearer <key>`, `x-api-key`, `x-goog-api-key`
 * and the `key` query parameter; header names must be lower-case. Empty values count as absent.
 */
export function presentedKey(
  headers: Readonly<Record<string, string | undefined>>,
  query: Readonly<Record<string, string | undefined>>,
): string | null {
  return (
    bearerToken(headers.authorization) ??
    nonEmpty(headers['x-api-key']) ??
    nonEmpty(headers['x-goog-api-key']) ??
    nonEmpty(query.key)
  );
}

/** The outcome of checking a presented key: the matching key's name, or why it was refused. */
export type AuthResult = { ok: true; name: string } | { ok: false; reason: 'missing' | 'invalid' };

/**
 * Checks a presented key against every digest in the ring with `timingSafeEqual`, never stopping early, so timing
 * reveals neither which key matched nor how many there are. The key itself never appears in the result.
 */
export function authenticate(ring: GatewayKeyRing, presented: string | null): AuthResult {
  if (presented === null || presented === '') return { ok: false, reason: 'missing' };
  const digest = digestOf(presented);
  // A ring not built by compileGatewayKeys has no digests and so accepts nothing.
  const entries = digestsByRing.get(ring) ?? [];
  let matched: string | undefined;
  for (const entry of entries) {
    const equal = timingSafeEqual(digest, entry.digest);
    if (equal && matched === undefined) matched = entry.name;
  }
  return matched === undefined ? { ok: false, reason: 'invalid' } : { ok: true, name: matched };
}

function digestOf(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

function configuredDigest(name: string, key: string): Buffer {
  if (!key.startsWith(SHA256_PREFIX)) return digestOf(key);
  const hex = key.slice(SHA256_PREFIX.length);
  // The schema checks this too; repeated here because the ring may be built from unvalidated input.
  if (!/^[0-9a-fA-F]{64}$/.test(hex)) {
    throw new Error(`gateway key "${name}": a sha256: key must be followed by 64 hex digits`);
  }
  return Buffer.from(hex, 'hex');
}

function bearerToken(authorization: string | undefined): string | null {
  const match = /^Bearer(?:\s+([\s\S]*))?$/i.exec(authorization?.trim() ?? '');
  return nonEmpty(match?.[1]);
}

function nonEmpty(value: string | undefined): string | null {
  const trimmed = value?.trim();
  return trimmed ? trimmed : null;
}
