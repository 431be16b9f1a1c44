// An OpenID Provider for the tests: npm's oidc-provider (panva, OpenID Certified), on 127.0.0.1,
// with one client whose ID tokens are RS256 and one whose are ES256, and the accounts the test
// writes to ACCOUNTS_FILE (re-read at every sign-in, so a test controls the claims). Its development
// login page accepts any password for an account id in that file; consent is granted at once.
// Prints `listening <port>` once it serves.
import http from "node:http";
import { generateKeyPairSync, randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const redirectUris = (process.env.REDIRECT_URIS || "").split(",").filter(Boolean);
const accountsFile = process.env.ACCOUNTS_FILE;
const accounts = () => JSON.parse(readFileSync(accountsFile, "utf8"));

const jwk = (pair, alg, kid) => ({ ...pair.privateKey.export({ format: "jwk" }), alg, use: "sig", kid });
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });

const server = http.createServer();
server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  const port = server.address().port;
  const issuer = process.env.ISSUER || `http://127.0.0.1:${port}`;
  const client = (id, alg) => ({
    client_id: id,
    client_secret: `${id}-secret`,
    redirect_uris: redirectUris,
    response_types: ["code"],
    grant_types: ["authorization_code"],
    id_token_signed_response_alg: alg,
    token_endpoint_auth_method: "client_secret_basic",
  });
  const provider = new Provider(issuer, {
    clients: [
      client("portal-rs", "RS256"),
      client("portal-es", "ES256"),
      // For the browser tier, whose portal listens on a port chosen at run time: a loopback
      // redirect URI of a native client matches any port (RFC 8252 §7.3).
      {
        ...client("portal-native", "RS256"),
        application_type: "native",
        redirect_uris: ["http://127.0.0.1/sign-in/oauth/callback"],
      },
    ],
    jwks: { keys: [jwk(rsa, "RS256", "rsa-1"), jwk(ec, "ES256", "ec-1")] },
    cookies: { keys: [randomBytes(32).toString("hex")] },
    claims: {
      openid: ["sub"],
      email: ["email", "email_verified"],
      profile: ["name", "given_name", "family_name"],
    },
    // Claims of the granted scopes go into the ID token, as Google's and Microsoft's do.
    conformIdTokenClaims: false,
    pkce: { required: () => true },
    findAccount: (ctx, id) => {
      const claims = accounts()[id];
      return claims ? { accountId: id, claims: () => ({ sub: id, ...claims }) } : undefined;
    },
    // Consent is given at once: the tests drive the login, not a consent screen.
    loadExistingGrant: async (ctx) => {
      const grant = new ctx.oidc.provider.Grant({
        clientId: ctx.oidc.client.clientId,
        accountId: ctx.oidc.session.accountId,
      });
      grant.addOIDCScope("openid email profile");
      grant.addOIDCClaims(["email", "email_verified", "name", "given_name", "family_name"]);
      await grant.save();
      return grant;
    },
  });
  server.on("request", provider.callback());
  console.log(`listening ${port}`);
});
