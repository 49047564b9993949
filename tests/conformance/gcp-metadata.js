// Conformance: Google's gcp-metadata (GCE_METADATA_HOST points it at the emulator)
// against the emulator's GCE personality: instance('hostname'), a recursive read of the
// instance (camelCase names, an id above 2^53 kept exact) and project('project-id').
// The library refuses any answer without Metadata-Flavor: Google.
//   GCE_METADATA_HOST=127.0.0.1:PORT node gcp-metadata.js <emulator URL>
"use strict";
const assert = require("node:assert/strict");
const gcpMetadata = require("gcp-metadata");

async function main() {
  const url = process.argv[2];
  const scenario = await (await fetch(`${url}/_emulator/scenario`)).json();
  const v1 = scenario.computeMetadata.v1;
  const idText = (await (await fetch(`${url}/_emulator/data?pointer=/computeMetadata/v1/instance/id`)).text());

  assert.equal(await gcpMetadata.instance("hostname"), v1.instance.hostname);
  const all = await gcpMetadata.instance({ params: { recursive: true } });
  assert.equal(all.machineType, v1.instance["machine-type"]);
  assert.equal(all.networkInterfaces[0].accessConfigs[0].externalIp,
    v1.instance["network-interfaces"][0]["access-configs"][0]["external-ip"]);
  assert.equal(all.attributes["block-project-ssh-keys"], v1.instance.attributes["block-project-ssh-keys"]);
  assert.equal(all.id.toString(), idText, "the instance id, exact");
  assert.equal(await gcpMetadata.project("project-id"), v1.project["project-id"]);
  console.log(`ok: gcp-metadata read hostname, a recursive instance (id ${all.id.toString()}) and project-id`);
}

main().catch((e) => {
  console.error(`gcp-metadata conformance: ${e.stack || e}`);
  process.exit(1);
});
