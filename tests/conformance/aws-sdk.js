// Conformance: AWS's @aws-sdk/ec2-metadata-service (MetadataService, endpoint override,
// IMDSv1 disabled so every request must carry a session token) against the emulator's
// AWS personality. Expected values come from the emulator's own scenario document.
//   node aws-sdk.js <emulator URL>
"use strict";
const assert = require("node:assert/strict");
const { MetadataService } = require("@aws-sdk/ec2-metadata-service");

async function main() {
  const url = process.argv[2];
  const scenario = await (await fetch(`${url}/_emulator/scenario`)).json();
  const md = scenario.latest["meta-data"];
  const service = new MetadataService({ endpoint: url, ec2MetadataV1Disabled: true });

  const token = await service.fetchMetadataToken();
  assert.ok(token.length > 20, "a session token");
  assert.equal(await service.request("/latest/meta-data/instance-id", {}), md["instance-id"]);
  assert.equal(
    await service.request("/latest/meta-data/placement/availability-zone", {}),
    md.placement["availability-zone"],
  );
  assert.equal(
    await service.request("/latest/meta-data/public-keys/", {}),
    md["public-keys"].map((k, i) => `${i}=${k.name}`).join("\n"),
  );
  const role = await service.request("/latest/meta-data/iam/security-credentials/", {});
  const creds = JSON.parse(
    await service.request(`/latest/meta-data/iam/security-credentials/${role}`, {}),
  );
  assert.equal(creds.AccessKeyId, md.iam["security-credentials"][role].AccessKeyId);
  const doc = JSON.parse(await service.request("/latest/dynamic/instance-identity/document", {}));
  assert.equal(doc.instanceId, md["instance-id"]);
  assert.equal(await service.request("/latest/user-data", {}), scenario.latest["user-data"]);
  console.log("ok: @aws-sdk/ec2-metadata-service read instance-id, zone, keys, role, document, user-data");
}

main().catch((e) => {
  console.error(`aws-sdk conformance: ${e.stack || e}`);
  process.exit(1);
});
