// A real OpenID provider for postroom's tests: panva's oidc-provider (an
// OpenID Certified implementation), with its development sign-in pages.
// The test harness starts it with node:
//
//   node provider.mjs PORT CLIENT_ID CLIENT_SECRET REDIRECT_URI ACCOUNTS_JSON
//
// ACCOUNTS_JSON maps a login name to its claims, for example
// {"alex": {"email": "alex@example.gov.uk", "name": "Alex", "groups": ["g1"]}}.
// Everything is invented; the keys are generated at each start.
import Provider from "oidc-provider";
import { generateKeyPairSync } from "node:crypto";

const [port, clientId, clientSecret, redirectUri, accountsJson] = process.argv.slice(2);
const accounts = JSON.parse(accountsJson);

const { privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const jwk = { ...privateKey.export({ format: "jwk" }), alg: "RS256", use: "sig", kid: "test" };

const provider = new Provider(`http://127.0.0.1:${port}`, {
  clients: [
    {
      client_id: clientId,
      client_secret: clientSecret,
      redirect_uris: [redirectUri],
      response_types: ["code"],
      grant_types: ["authorization_code"],
      token_endpoint_auth_method: "client_secret_basic",
    },
  ],
  jwks: { keys: [jwk] },
  pkce: { required: () => true },
  claims: { openid: ["sub"], email: ["email"], profile: ["name", "groups"] },
  // The claims of the scopes asked for go into the ID token itself.
  conformIdTokenClaims: false,
  cookies: { keys: ["postroom-test-cookie-key"] },
  features: { devInteractions: { enabled: true } },
  async findAccount(ctx, id) {
    const claims = accounts[id];
    if (!claims) return undefined;
    return { accountId: id, async claims() { return { sub: id, ...claims }; } };
  },
  // Consent is the council's, not the person's: granted at once.
  async loadExistingGrant(ctx) {
    const grant = new ctx.oidc.provider.Grant({
      clientId: ctx.oidc.client.clientId,
      accountId: ctx.oidc.session.accountId,
    });
    grant.addOIDCScope("openid email profile");
    await grant.save();
    return grant;
  },
});
provider.listen(Number(port), "127.0.0.1", () => {
  console.log(`listening on ${port}`);
});
