// Conformance: IBM's Node.js SDK core (VpcInstanceAuthenticator, ref §9.1) obtains an IAM
// token from the emulator. Starts nothing itself: the emulator URL comes from argv or
// EMULATOR_URL. Exits non-zero with a message on any mismatch.
//
//   node vpc-authenticator.js <emulator-url> <serviceVersion> [--profile-crn CRN | --profile-id ID]
'use strict';

const assert = require('node:assert/strict');
const { VpcInstanceAuthenticator } = require('ibm-cloud-sdk-core');

function parseArgs(argv) {
  const args = { url: process.env.EMULATOR_URL, serviceVersion: undefined };
  const rest = [...argv];
  if (rest.length && !rest[0].startsWith('--')) args.url = rest.shift();
  if (rest.length && !rest[0].startsWith('--')) args.serviceVersion = rest.shift();
  while (rest.length) {
    const flag = rest.shift();
    if (flag === '--profile-crn') args.iamProfileCrn = rest.shift();
    else if (flag === '--profile-id') args.iamProfileId = rest.shift();
    else throw new Error(`unknown argument ${flag}`);
  }
  if (!args.url || !args.serviceVersion) {
    throw new Error('usage: vpc-authenticator.js <emulator-url> <serviceVersion> [--profile-crn CRN | --profile-id ID]');
  }
  return args;
}

function claimsOf(jwt) {
  const parts = jwt.split('.');
  assert.equal(parts.length, 3, `not a JWT: ${jwt}`);
  return JSON.parse(Buffer.from(parts[1], 'base64url').toString('utf8'));
}

async function control(url, path, init) {
  const response = await fetch(url + path, init);
  return { status: response.status, body: await response.json() };
}

async function main() {
  const args = parseArgs(process.argv.slice(2));
  const legacy = args.serviceVersion === '2022-03-01';
  await control(args.url, '/_emulator/counters/reset', { method: 'POST' });

  const options = { url: args.url, serviceVersion: args.serviceVersion };
  if (args.iamProfileCrn) options.iamProfileCrn = args.iamProfileCrn;
  if (args.iamProfileId) options.iamProfileId = args.iamProfileId;
  const authenticator = new VpcInstanceAuthenticator(options);

  const request = { headers: {} };
  await authenticator.authenticate(request);
  const header = request.headers.Authorization;
  assert.ok(header && header.startsWith('Bearer '), `no bearer token set: ${header}`);
  const iamToken = header.slice('Bearer '.length);

  // The token is one the emulator issued and still considers valid.
  const check = await control(args.url, '/_emulator/iam/check', {
    headers: { Authorization: `Bearer ${iamToken}` },
  });
  assert.equal(check.status, 200, 'the emulator does not know the IAM token the SDK holds');

  const claims = claimsOf(iamToken);
  assert.equal(claims.sub_type, 'Profile');
  assert.equal(typeof claims.iat, 'number');
  assert.equal(typeof claims.exp, 'number');
  const scenario = (await control(args.url, '/_emulator/scenario')).body;
  const expectedProfile = args.iamProfileId
    || (args.iamProfileCrn && args.iamProfileCrn.split('::profile:')[1])
    || scenario.initialization.default_trusted_profile.target.id;
  assert.equal(claims.sub, expectedProfile);

  // The SDK used the path family of its serviceVersion, once each.
  const counts = (await control(args.url, '/_emulator/counters')).body.requests;
  const expected = legacy
    ? { 'PUT /instance_identity/v1/token': 1, 'POST /instance_identity/v1/iam_token': 1 }
    : { 'PUT /identity/v1/token': 1, 'POST /identity/v1/iam_tokens': 1 };
  assert.deepEqual(counts, expected);

  // exp and iat were understood: a second authenticate() reuses the cached token.
  const again = { headers: {} };
  await authenticator.authenticate(again);
  assert.equal(again.headers.Authorization, header);
  assert.deepEqual((await control(args.url, '/_emulator/counters')).body.requests, expected);

  console.log(`ok: serviceVersion ${args.serviceVersion}, profile ${expectedProfile}, `
    + `paths ${Object.keys(expected).join(', ')}`);
}

// An unlinked profile: the SDK reports IBM's error message (errors[0].message).
async function unlinked(url) {
  const authenticator = new VpcInstanceAuthenticator({
    url, serviceVersion: '2025-08-26', iamProfileId: 'Profile-00000000-0000-4000-8000-000000000000',
  });
  await assert.rejects(authenticator.authenticate({ headers: {} }), (err) => {
    assert.equal(err.status, 400);
    assert.match(err.message, /is not linked to this instance/);
    return true;
  });
  console.log('ok: unlinked profile rejected with status 400 and IBM\'s message');
}

const argv = process.argv.slice(2);
(argv.includes('--unlinked') ? unlinked(argv[0] || process.env.EMULATOR_URL) : main()).catch((err) => {
  console.error(`conformance failure: ${err && err.stack ? err.stack : err}`);
  process.exit(1);
});
