// Conformance: Azure's @azure/identity ManagedIdentityCredential against the emulator's
// Azure personality. AZURE_POD_IDENTITY_AUTHORITY_HOST (the variable the library reads
// to override the IMDS host) points it at the emulator.
//   AZURE_POD_IDENTITY_AUTHORITY_HOST=http://127.0.0.1:PORT node azure-identity.js [client id]
"use strict";
const assert = require("node:assert/strict");
const { ManagedIdentityCredential } = require("@azure/identity");

async function main() {
  const clientId = process.argv[2];
  const credential = clientId ? new ManagedIdentityCredential({ clientId })
    : new ManagedIdentityCredential();
  const before = Date.now();
  const token = await credential.getToken("https://management.azure.com/.default");
  assert.equal(token.token.split(".").length, 3, "a JWT");
  const claims = JSON.parse(Buffer.from(token.token.split(".")[1], "base64url").toString());
  assert.equal(claims.aud, "https://management.azure.com");
  assert.ok(token.expiresOnTimestamp > before, "expires in the future");
  console.log(`ok: ManagedIdentityCredential got a token for ${claims.aud}${clientId ? ` (client id ${clientId})` : ""}`);
}

main().catch((e) => {
  console.error(`azure-identity conformance: ${e.stack || e}`);
  process.exit(1);
});
