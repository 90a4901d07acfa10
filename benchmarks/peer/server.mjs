// The benchmark's peer: panva's oidc-provider (the version package.json pins), one Node
// process, in-memory storage (its default adapter: no database, so the peer's figures are an
// upper bound for it), one confidential client (client_secret_basic, client_credentials grant),
// introspection enabled. benchmarks/run.py starts it:
//
//   node benchmarks/peer/server.mjs --port 18003 --client-id ID --client-secret SECRET
//
// GET /health/live answers 200 (what run.py polls before a row, as for authsvc).
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';

import Provider from 'oidc-provider';

const { values } = parseArgs({
  options: {
    port: { type: 'string' },
    'client-id': { type: 'string' },
    'client-secret': { type: 'string' },
  },
});
const port = Number(values.port);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: [{
    client_id: values['client-id'],
    client_secret: values['client-secret'],
    grant_types: ['client_credentials'],
    response_types: [],
    redirect_uris: [],
    token_endpoint_auth_method: 'client_secret_basic',
  }],
  cookies: { keys: [randomBytes(32).toString('hex')] },
  features: {
    clientCredentials: { enabled: true },
    introspection: {
      enabled: true,
      // A client may introspect its own tokens (the default policy lets any client do it).
      allowedPolicy: async (ctx, client, token) => token.clientId === client.clientId,
    },
    devInteractions: { enabled: false },
  },
  routes: { token: '/token', introspection: '/introspect' },
  ttl: { ClientCredentials: 900 },
});
provider.proxy = false;

const app = provider.callback();
const { createServer } = await import('node:http');
createServer((req, res) => {
  if (req.method === 'GET' && req.url === '/health/live') {
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end('{"status":"ok"}');
    return;
  }
  app(req, res);
}).listen(port, '127.0.0.1', () => {
  console.log(`oidc-provider listening on ${issuer}`);
});
