// Drives alicloud-sim with the Node.js SDKs: @alicloud/pop-core (RPC V2 HMAC-SHA1, GET and POST form),
// @alicloud/openapi-client (V3 ACS3-HMAC-SHA256 with a form body, which it sends chunked) and the generated
// ECS client @alicloud/ecs20140526 (on @alicloud/openapi-core, the newer Darabonba runtime).
// Usage: node check.js http://127.0.0.1:PORT ACCESS_KEY SECRET ; prints one JSON line per check, exits 1 on a failure.
'use strict';
const assert = require('assert');
const { RPCClient } = require('@alicloud/pop-core');
const OpenApi = require('@alicloud/openapi-client');
const Util = require('@alicloud/tea-util');
const Ecs = require('@alicloud/ecs20140526');
const { $OpenApiUtil } = require('@alicloud/openapi-core');

const [endpoint, accessKeyId, accessKeySecret] = process.argv.slice(2);

function popClient(apiVersion) {
  return new RPCClient({ accessKeyId, accessKeySecret, endpoint, apiVersion });
}

async function popDescribeInstances(method) {
  const body = await popClient('2014-05-26').request('DescribeInstances',
    { RegionId: 'cn-hangzhou', InstanceName: 'web-*' }, { method, formatParams: false });
  const names = body.Instances.Instance.map((i) => i.InstanceName);
  assert.ok(names.length > 0 && names.every((n) => n.startsWith('web-')), `names: ${names}`);
  return names.length;
}

async function popListTemplates() {
  const body = await popClient('2019-06-01').request('ListTemplates', { TemplateType: 'Package', MaxResults: 20 },
    { method: 'POST' });
  assert.ok(body.Templates.length > 0);
  return body.Templates.length;
}

async function popError() {
  try {
    await popClient('2019-06-01').request('GetTemplate', { TemplateName: 'no-such-template' }, { method: 'POST' });
  } catch (err) {
    assert.strictEqual(err.code, 'EntityNotExists.Template');
    return err.code;
  }
  throw new Error('GetTemplate of a missing template did not fail');
}

async function openapiCall(signatureAlgorithm, action, version, form) {
  const url = new URL(endpoint);
  const config = new OpenApi.Config({ accessKeyId, accessKeySecret, endpoint: url.host, protocol: 'http',
    regionId: 'cn-hangzhou' });
  if (signatureAlgorithm) config.signatureAlgorithm = signatureAlgorithm;
  const client = new OpenApi.default(config);
  const params = new OpenApi.Params({ action, version, protocol: 'HTTP', pathname: '/', method: 'POST',
    authType: 'AK', style: 'RPC', reqBodyType: 'formData', bodyType: 'json' });
  const request = new OpenApi.OpenApiRequest({ body: form });
  const resp = await client.callApi(params, request, new Util.RuntimeOptions({}));
  return resp.body;
}

async function openapiDescribeInstances(signatureAlgorithm) {
  const body = await openapiCall(signatureAlgorithm, 'DescribeInstances', '2014-05-26',
    { RegionId: 'cn-hangzhou', InstanceName: 'web-1' });
  assert.deepStrictEqual(body.Instances.Instance.map((i) => i.InstanceName), ['web-1']);
  return 1;
}

async function openapiListExecutions() {
  const body = await openapiCall(undefined, 'ListExecutions', '2019-06-01', { RegionId: 'cn-hangzhou', MaxResults: 20 });
  assert.ok(Array.isArray(body.Executions));
  return body.Executions.length;
}

function ecsClient() {
  const url = new URL(endpoint);
  return new Ecs.default(new $OpenApiUtil.Config({ accessKeyId, accessKeySecret, endpoint: url.host,
    protocol: 'http', regionId: 'cn-hangzhou' }));
}

async function ecsDescribeInstances() {
  const resp = await ecsClient().describeInstances(new Ecs.DescribeInstancesRequest({ regionId: 'cn-hangzhou',
    instanceName: 'web-*', pageSize: 10 }));
  const names = resp.body.instances.instance.map((i) => i.instanceName);
  assert.ok(names.length > 0 && names.every((n) => n.startsWith('web-')), `names: ${names}`);
  return names.length;
}

async function webInstanceId() {
  const resp = await ecsClient().describeInstances(new Ecs.DescribeInstancesRequest({ regionId: 'cn-hangzhou',
    instanceName: 'web-1' }));
  return resp.body.instances.instance[0].instanceId;
}

async function ecsCloudAssistantStatus() {
  const id = await webInstanceId();
  const resp = await ecsClient().describeCloudAssistantStatus(new Ecs.DescribeCloudAssistantStatusRequest({
    regionId: 'cn-hangzhou', instanceId: [id] }));
  const status = resp.body.instanceCloudAssistantStatusSet.instanceCloudAssistantStatus;
  assert.deepStrictEqual(status.map((s) => [s.instanceId, s.cloudAssistantStatus]), [[id, 'true']]);
  return status.length;
}

async function ecsRunCommandAndResults() {
  const id = await webInstanceId();
  const client = ecsClient();
  const run = await client.runCommand(new Ecs.RunCommandRequest({ regionId: 'cn-hangzhou', type: 'RunShellScript',
    commandContent: 'echo node-sdk', instanceId: [id], timeout: 60 }));
  const invokeId = run.body.invokeId;
  assert.ok(invokeId && invokeId.startsWith('t-'), `invokeId: ${invokeId}`);
  for (let attempt = 0; attempt < 100; attempt += 1) {
    const resp = await client.describeInvocationResults(new Ecs.DescribeInvocationResultsRequest({
      regionId: 'cn-hangzhou', invokeId, contentEncoding: 'PlainText' }));
    const rows = resp.body.invocation.invocationResults.invocationResult;
    if (rows.length && rows[0].invocationStatus === 'Success') {
      assert.strictEqual(rows[0].output, 'node-sdk\n');
      return invokeId;
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`${invokeId} did not succeed within 10 s`);
}

async function ecsError() {
  try {
    await ecsClient().describeInvocationResults(new Ecs.DescribeInvocationResultsRequest({ regionId: 'cn-hangzhou',
      invokeId: 't-doesnotexist' }));
  } catch (err) {
    assert.ok(err.code, `no code on ${err}`);
    return err.code;
  }
  return 'no error (an unknown invocation lists nothing)';
}

const checks = [
  ['pop-core DescribeInstances GET', () => popDescribeInstances('GET')],
  ['pop-core DescribeInstances POST', () => popDescribeInstances('POST')],
  ['pop-core ListTemplates POST', popListTemplates],
  ['pop-core error code', popError],
  ['openapi-client V3 DescribeInstances (form body)', () => openapiDescribeInstances(undefined)],
  ['openapi-client V3 ListExecutions (form body)', openapiListExecutions],
  ['openapi-client V2 DescribeInstances (form body)', () => openapiDescribeInstances('v2')],
  ['ecs20140526 describeInstances', ecsDescribeInstances],
  ['ecs20140526 describeCloudAssistantStatus', ecsCloudAssistantStatus],
  ['ecs20140526 runCommand, describeInvocationResults', ecsRunCommandAndResults],
  ['ecs20140526 an unknown invocation', ecsError],
];

(async () => {
  let failed = 0;
  for (const [name, fn] of checks) {
    try {
      const result = await fn();
      console.log(JSON.stringify({ check: name, ok: true, result }));
    } catch (err) {
      failed += 1;
      console.log(JSON.stringify({ check: name, ok: false, error: String(err && (err.stack || err)) }));
    }
  }
  process.exit(failed ? 1 : 0);
})();
