import { inspect } from 'node:util';
import { authenticate, compileGatewayKeys, presentedKey, sha256Hex } from '../../shared/auth/gateway-keys';

const PLAIN_KEY = 'gw-plain-key-4f1c9a7e';
const OTHER_KEY = 'gw-other-key-0b83d2c5';

describe('presentedKey', () => {
  it.each([
    { form: 'Authorization: Bearer', headers: { authorization: `Bearer ${PLAIN_KEY}` }, query: {} },
    { form: 'a lower-case bearer scheme', headers: { authorization: `bearer ${PLAIN_KEY}` }, query: {} },
    { form: 'a padded Bearer header', headers: { authorization: `  BEARER   ${PLAIN_KEY}  ` }, query: {} },
    { form: 'x-api-key', headers: { 'x-api-key': PLAIN_KEY }, query: {} },
    { form: 'x-goog-api-key', headers: { 'x-goog-api-key': PLAIN_KEY }, query: {} },
    { form: '?key=', headers: {}, query: { key: PLAIN_KEY } },
  ])('accepts the key sent as $form', ({ headers, query }) => {
    // Act
    const key = presentedKey(headers, query);

    // Assess
    expect(key).toBe(PLAIN_KEY);
  });

  it.each([
    {
      winner: 'Authorization: Bearer over every other form',
      expected: 'from-bearer',
      headers: { authorization: 'Bearer from-bearer', 'x-api-key': 'from-x-api-key', 'x-goog-api-key': 'from-goog' },
      query: { key: 'from-query' },
    },
    {
      winner: 'x-api-key over x-goog-api-key and ?key=',
      expected: 'from-x-api-key',
      headers: { 'x-api-key': 'from-x-api-key', 'x-goog-api-key': 'from-goog' },
      query: { key: 'from-query' },
    },
    {
      winner: 'x-goog-api-key over ?key=',
      expected: 'from-goog',
      headers: { 'x-goog-api-key': 'from-goog' },
      query: { key: 'from-query' },
    },
    {
      winner: 'x-api-key when Authorization is not a Bearer token',
      expected: 'from-x-api-key',
      headers: { authorization: 'Basic dXNlcjpwYXNz', 'x-api-key': 'from-x-api-key' },
      query: {},
    },
    {
      winner: '?key= when every header is empty',
      expected: 'from-query',
      headers: { authorization: 'Bearer ', 'x-api-key': '', 'x-goog-api-key': '   ' },
      query: { key: 'from-query' },
    },
  ])('prefers $winner', ({ headers, query, expected }) => {
    // Act
    const key = presentedKey(headers, query);

    // Assess
    expect(key).toBe(expected);
  });

  it.each([
    { case: 'nothing is sent', headers: {}, query: {} },
    { case: 'the Bearer token is empty', headers: { authorization: 'Bearer ' }, query: {} },
    { case: 'the Authorization header is just "Bearer"', headers: { authorization: 'Bearer' }, query: {} },
    { case: 'every value is empty', headers: { 'x-api-key': '', 'x-goog-api-key': '' }, query: { key: '' } },
  ])('finds no key when $case', ({ headers, query }) => {
    // Act
    const key = presentedKey(headers, query);

    // Assess
    expect(key).toBeNull();
  });
});

describe('authenticate', () => {
  it('accepts a configured plain key and returns its name', () => {
    // Prepare
    const ring = compileGatewayKeys([{ name: 'app-1', key: PLAIN_KEY }]);

    // Act
    const result = authenticate(ring, PLAIN_KEY);

    // Assess
    expect(result).toEqual({ ok: true, name: 'app-1' });
  });

  it.each([
    { case: 'a lower-case', configured: `sha256:${sha256Hex(PLAIN_KEY)}` },
    { case: 'an upper-case', configured: `sha256:${sha256Hex(PLAIN_KEY).toUpperCase()}` },
  ])('matches $case sha256: configured key against its plain key', ({ configured }) => {
    // Prepare
    const ring = compileGatewayKeys([{ name: 'hashed', key: configured }]);

    // Act
    const result = authenticate(ring, PLAIN_KEY);

    // Assess
    expect(result).toEqual({ ok: true, name: 'hashed' });
  });

  it('does not accept the sha256: form itself as the key', () => {
    // Prepare
    const configured = `sha256:${sha256Hex(PLAIN_KEY)}`;
    const ring = compileGatewayKeys([{ name: 'hashed', key: configured }]);

    // Act
    const result = authenticate(ring, configured);

    // Assess
    expect(result).toEqual({ ok: false, reason: 'invalid' });
  });

  it('rejects a wrong key as invalid', () => {
    // Prepare
    const ring = compileGatewayKeys([{ name: 'app-1', key: PLAIN_KEY }]);

    // Act
    const result = authenticate(ring, 'not-the-key');

    // Assess
    expect(result).toEqual({ ok: false, reason: 'invalid' });
  });

  it('reports a missing key as missing', () => {
    // Prepare
    const ring = compileGatewayKeys([{ name: 'app-1', key: PLAIN_KEY }]);

    // Act
    const result = authenticate(ring, presentedKey({}, {}));

    // Assess
    expect(result).toEqual({ ok: false, reason: 'missing' });
  });

  it('reports an empty Bearer token as missing', () => {
    // Prepare
    const ring = compileGatewayKeys([{ name: 'app-1', key: PLAIN_KEY }]);

    // Act
    const result = authenticate(ring, presentedKey({ authorization: 'Bearer ' }, {}));

    // Assess
    expect(result).toEqual({ ok: false, reason: 'missing' });
  });

  it.each([
    { key: PLAIN_KEY, name: 'app-1' },
    { key: OTHER_KEY, name: 'app-2' },
  ])('returns $name for the key configured under that name', ({ key, name }) => {
    // Prepare
    const ring = compileGatewayKeys([
      { name: 'app-1', key: PLAIN_KEY },
      { name: 'app-2', key: `sha256:${sha256Hex(OTHER_KEY)}` },
    ]);

    // Act
    const result = authenticate(ring, key);

    // Assess
    expect(result).toEqual({ ok: true, name });
  });

  it.each([PLAIN_KEY, OTHER_KEY, 'x'])('finds every presented key invalid on a ring with no keys (%j)', (key) => {
    // Prepare
    const ring = compileGatewayKeys([]);

    // Act
    const result = authenticate(ring, key);

    // Assess
    expect(ring.size).toBe(0);
    expect(result).toEqual({ ok: false, reason: 'invalid' });
  });

  it('accepts nothing on a ring that compileGatewayKeys did not build', () => {
    // Prepare
    const forged = { size: 1, names: ['app-1'] };

    // Act
    const result = authenticate(forged, PLAIN_KEY);

    // Assess
    expect(result).toEqual({ ok: false, reason: 'invalid' });
  });

  it('never puts the presented key in its result', () => {
    // Prepare
    const ring = compileGatewayKeys([{ name: 'app-1', key: PLAIN_KEY }]);

    // Act
    const results = [authenticate(ring, PLAIN_KEY), authenticate(ring, 'wrong-presented-key')];

    // Assess
    const text = JSON.stringify(results);
    expect(text).not.toContain(PLAIN_KEY);
    expect(text).not.toContain('wrong-presented-key');
  });
});

describe('compileGatewayKeys', () => {
  it('keeps no trace of a plain configured key in the ring', () => {
    // Prepare
    const apiKeys = [
      { name: 'app-1', key: PLAIN_KEY },
      { name: 'app-2', key: `sha256:${sha256Hex(OTHER_KEY)}` },
    ];

    // Act
    const ring = compileGatewayKeys(apiKeys);

    // Assess
    const views = [JSON.stringify(ring), inspect(ring, { depth: Number.POSITIVE_INFINITY, showHidden: true })];
    for (const view of views) {
      expect(view).not.toContain(PLAIN_KEY);
      expect(view).not.toContain(OTHER_KEY);
    }
    expect(ring.size).toBe(2);
    expect(ring.names).toEqual(['app-1', 'app-2']);
  });

  it('rejects a sha256: key that is not 64 hex digits, without echoing it', () => {
    // Act
    const compile = () => compileGatewayKeys([{ name: 'bad', key: 'sha256:deadbeef' }]);

    // Assess
    expect(compile).toThrow('gateway key "bad": a sha256: key must be followed by 64 hex digits');
    expect(compile).not.toThrow('deadbeef');
  });
});

describe('sha256Hex', () => {
  it('gives the lower-case hex SHA-256 of the key', () => {
    // Act
    const hex = sha256Hex('abc');

    // Assess
    expect(hex).toBe('ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
  });
});
