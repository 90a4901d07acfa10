// A relying party as apps write one with node's openid-client (v5): discovery, PKCE (S256),
// state and nonce; on the way back, the callback checks (iss per RFC 9207, state, the code
// exchange, the ID token's signature against jwks_uri, aud, nonce, at_hash) and /userinfo.
//
//   node rp.cjs start  ISSUER CLIENT_ID SECRET|- REDIRECT_URI SCOPE   -> {url, verifier, state, nonce}
//   node rp.cjs finish ISSUER CLIENT_ID SECRET|- REDIRECT_URI CALLBACK_URL VERIFIER STATE NONCE
//                                                                     -> {claims, userinfo, ...}
// Prints one JSON object; exits 1 with {"error"} when openid-client refuses.
"use strict";
const { Issuer, generators } = require("openid-client");

async function client(issuerUrl, clientId, secret, redirectUri) {
  const issuer = await Issuer.discover(issuerUrl);
  const metadata = { client_id: clientId, redirect_uris: [redirectUri], response_types: ["code"] };
  if (secret === "-") {
    metadata.token_endpoint_auth_method = "none";
  } else {
    metadata.client_secret = secret;
  }
  return new issuer.Client(metadata);
}

async function main() {
  const [command, issuerUrl, clientId, secret, redirectUri, ...rest] = process.argv.slice(2);
  const rp = await client(issuerUrl, clientId, secret, redirectUri);
  if (command === "start") {
    const verifier = generators.codeVerifier();
    const state = generators.state();
    const nonce = generators.nonce();
    const url = rp.authorizationUrl({
      scope: rest[0], state, nonce,
      code_challenge: generators.codeChallenge(verifier), code_challenge_method: "S256",
    });
    return { url, verifier, state, nonce };
  }
  if (command === "finish") {
    const [callbackUrl, verifier, state, nonce] = rest;
    const params = rp.callbackParams(callbackUrl);
    const tokens = await rp.callback(redirectUri, params, { code_verifier: verifier, state, nonce });
    const userinfo = await rp.userinfo(tokens.access_token);
    return {
      claims: tokens.claims(), userinfo, id_token: tokens.id_token,
      has_refresh_token: Boolean(tokens.refresh_token), scope: tokens.scope,
    };
  }
  throw new Error(`unknown command ${command}`);
}

main().then(
  (out) => { process.stdout.write(JSON.stringify(out) + "\n"); },
  (err) => { process.stdout.write(JSON.stringify({ error: String(err && err.message || err) }) + "\n"); process.exit(1); },
);
