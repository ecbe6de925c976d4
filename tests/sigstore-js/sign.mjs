// Independent signer for the integration tests (sigstore-js, not our code).
//
// Signs an in-toto statement about IMAGE_DIGEST as a DSSE Sigstore bundle with a local ECDSA key (no Fulcio,
// no Rekor: like `cosign sign --key --tlog-upload=false`) and attaches it to the registry image as an OCI
// referrer with @sigstore/oci (which uses the referrers tag schema when the registry has no referrers API).
//
// usage: node sign.mjs REGISTRY REPO IMAGE_DIGEST KEY_PEM PREDICATE_TYPE
// env:   REGISTRY_USERNAME, REGISTRY_PASSWORD (basic auth; the registry must send a challenge)
// prints {"descriptor": …, "bundle": "<the exact bytes attached>"} as JSON on stdout.

import crypto from 'node:crypto';
import fs from 'node:fs';

import { bundleToJSON } from '@sigstore/bundle';
import { attachArtifactToImage } from '@sigstore/oci';
import { DSSEBundleBuilder } from '@sigstore/sign';

const [registry, repo, imageDigest, keyPath, predicateType] = process.argv.slice(2);
if (!predicateType) {
  process.stderr.write('usage: node sign.mjs REGISTRY REPO IMAGE_DIGEST KEY_PEM PREDICATE_TYPE\n');
  process.exit(2);
}

const privateKey = crypto.createPrivateKey(fs.readFileSync(keyPath));
const publicKey = crypto.createPublicKey(privateKey).export({ format: 'pem', type: 'spki' }).toString();
const hint = crypto.createHash('sha256').update(crypto.createPublicKey(privateKey)
  .export({ format: 'der', type: 'spki' })).digest('base64');

const signer = {
  sign: async (data) => ({
    signature: crypto.sign('sha256', data, privateKey),
    key: { $case: 'publicKey', publicKey, hint },
  }),
};

const statement = {
  _type: 'https://in-toto.io/Statement/v1',
  subject: [{ name: `${registry}/${repo}`, digest: { sha256: imageDigest.replace(/^sha256:/, '') } }],
  predicateType,
  predicate: {},
};

const builder = new DSSEBundleBuilder({ signer, witnesses: [] });
const bundle = await builder.create({
  data: Buffer.from(JSON.stringify(statement)),
  type: 'application/vnd.in-toto+json',
});
const bundleBytes = Buffer.from(JSON.stringify(bundleToJSON(bundle)));

const descriptor = await attachArtifactToImage({
  imageName: `${registry}/${repo}`,
  imageDigest,
  artifact: bundleBytes,
  mediaType: bundle.mediaType,
  annotations: {
    'dev.sigstore.bundle.content': 'dsse-envelope',
    'dev.sigstore.bundle.predicateType': predicateType,
  },
  credentials: {
    username: process.env.REGISTRY_USERNAME ?? '',
    password: process.env.REGISTRY_PASSWORD ?? '',
  },
});

process.stdout.write(JSON.stringify({ descriptor, bundle: bundleBytes.toString('utf8') }) + '\n');
