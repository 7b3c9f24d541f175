import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { App, type CfnElement, type IResource, Stack } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import { LlmGatewayStack, type LlmGatewayStackProps } from '../../infra/llm-gateway-stack';

/** One synthesized gateway stack: the app (its outdir holds the assets), the stack and its template. */
export interface Synthesized {
  app: App;
  stack: LlmGatewayStack;
  template: Template;
  /** The template as JSON. */
  json: { Resources: Record<string, CfnResourceJson>; Outputs: Record<string, { Value: unknown }> };
}

export interface CfnResourceJson {
  Type: string;
  Properties: Record<string, unknown>;
}

type PolicyStatement = { Action: string | string[]; Resource: unknown; Effect: string };

/** Synthesizes a stack offline (no account, no region, no credentials); esbuild bundles each function once. */
export function synthesize(
  id: string,
  props: LlmGatewayStackProps,
  context: Record<string, unknown> = {},
): Synthesized {
  const app = new App({ context });
  const stack = new LlmGatewayStack(app, id, props);
  app.synth();
  const template = Template.fromStack(stack);
  return { app, stack, template, json: template.toJSON() as Synthesized['json'] };
}

/** The logical id of an L2 construct's CloudFormation resource. */
export function logicalId(construct: IResource): string {
  const stack = Stack.of(construct);
  return stack.resolve(stack.getLogicalId(construct.node.defaultChild as CfnElement)) as string;
}

/** The resources of one type, by logical id. */
export function resourcesOfType(synth: Synthesized, type: string): [string, CfnResourceJson][] {
  return Object.entries(synth.json.Resources).filter(([, resource]) => resource.Type === type);
}

/** Every IAM policy statement in the template, with the logical ids of the roles it is attached to. */
export function policyStatements(synth: Synthesized): { roles: string[]; statement: PolicyStatement }[] {
  const out: { roles: string[]; statement: PolicyStatement }[] = [];
  for (const [, policy] of resourcesOfType(synth, 'AWS::IAM::Policy')) {
    const roles = ((policy.Properties.Roles ?? []) as { Ref: string }[]).map((role) => role.Ref);
    const document = policy.Properties.PolicyDocument as { Statement: PolicyStatement[] };
    for (const statement of document.Statement) out.push({ roles, statement });
  }
  for (const [roleId, role] of resourcesOfType(synth, 'AWS::IAM::Role')) {
    const inline = (role.Properties.Policies ?? []) as { PolicyDocument: { Statement: PolicyStatement[] } }[];
    for (const policy of inline)
      for (const statement of policy.PolicyDocument.Statement) out.push({ roles: [roleId], statement });
  }
  return out;
}

/** A function's allowed actions (with `prefix`), keyed by each resource as JSON. */
export function grantsOf(synth: Synthesized, fn: IResource, prefix: string): Record<string, string[]> {
  const role = (synth.json.Resources[logicalId(fn)].Properties.Role as { 'Fn::GetAtt': [string, string] })[
    'Fn::GetAtt'
  ][0];
  const grants: Record<string, string[]> = {};
  for (const { roles, statement } of policyStatements(synth)) {
    if (!roles.includes(role) || statement.Effect !== 'Allow') continue;
    const actions = [statement.Action].flat().filter((action) => action.startsWith(prefix));
    for (const resource of [statement.Resource].flat()) {
      const key = JSON.stringify(resource);
      grants[key] = [...(grants[key] ?? []), ...actions].sort();
    }
  }
  return Object.fromEntries(Object.entries(grants).filter(([, actions]) => actions.length > 0));
}

/** `{"Fn::GetAtt":[id,"Arn"]}` as grantsOf keys it. */
export function arnOf(resource: IResource, attribute = 'Arn'): string {
  return JSON.stringify({ 'Fn::GetAtt': [logicalId(resource), attribute] });
}

/** The dashboard body: the Fn::Join parts glued together, each token replaced by a placeholder string. */
export function dashboardBody(synth: Synthesized): {
  widgets: { properties: { title?: string; metrics?: unknown[][] } }[];
} {
  const [[, dashboard]] = resourcesOfType(synth, 'AWS::CloudWatch::Dashboard');
  const body = dashboard.Properties.DashboardBody as string | { 'Fn::Join': [string, unknown[]] };
  const text =
    typeof body === 'string' ? body : body['Fn::Join'][1].map((p) => (typeof p === 'string' ? p : 'TOKEN')).join('');
  return JSON.parse(text);
}

/** Every file under a directory (recursively). */
export function filesUnder(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? filesUnder(path) : [path];
  });
}

/** The asset directory of a function's code in the app's outdir. */
export function assetDirOf(synth: Synthesized, fn: IResource): string {
  const code = synth.json.Resources[logicalId(fn)].Properties.Code as { S3Key: string };
  return join(synth.app.outdir, `asset.${code.S3Key.replace(/\.zip$/, '')}`);
}

/** Reads a file as UTF-8. */
export function read(path: string): string {
  return readFileSync(path, 'utf8');
}
