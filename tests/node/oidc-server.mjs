// An OpenID Provider for the tests: npm's oidc-provider (panva, OpenID Certified), on 127.0.0.1,
// with one client whose ID tokens are RS256 and one whose are ES256, and the accounts the test
// writes to ACCOUNTS_FILE (re-read at every sign-in, so a test controls the claims). Its development
// login page accepts any password for an account id in that file; consent is granted at once.
// Prints `listening <port>` once it serves.
import http from "node:http";
import { generateKeyPairSync, randomBytes, verify } from "node:crypto";
import { readFileSync } from "node:fs";
import Provider from "oidc-provider";

const redirectUris = (process.env.REDIRECT_URIS || "").split(",").filter(Boolean);
const accountsFile = process.env.ACCOUNTS_FILE;
const accounts = () => JSON.parse(readFileSync(accountsFile, "utf8"));

const jwk = (pair, alg, kid) => ({ ...pair.privateKey.export({ format: "jwk" }), alg, use: "sig", kid });
const rsa = generateKeyPairSync("rsa", { modulusLength: 2048 });
const ec = generateKeyPairSync("ec", { namedCurve: "P-256" });
// Sign in with Apple's quirk: the client secret is an ES256 JWT the client signs with a key
// Apple handed out. This is that key; its private half is printed for the portal.
const appleKey = generateKeyPairSync("ec", { namedCurve: "P-256" });
const APPLE_TEAM = "TEAM123456";
const APPLE_KEY_ID = "KEY1234567";

const checkedMarker = randomBytes(16).toString("hex");
// The client secret JWT must be Apple's: ES256 by the key, iss the team, sub the client, aud
// the issuer, unexpired. Answers the problem, or null.
const appleSecretProblem = (jwt, issuer) => {
  const [header, payload, signature] = String(jwt).split(".");
  if (!signature) return "not a JWT";
  const head = JSON.parse(Buffer.from(header, "base64url"));
  const claims = JSON.parse(Buffer.from(payload, "base64url"));
  const ok = verify("sha256", Buffer.from(`${header}.${payload}`), { key: appleKey.publicKey, dsaEncoding: "ieee-p1363" }, Buffer.from(signature, "base64url"));
  if (!ok) return "bad signature";
  if (head.alg !== "ES256" || head.kid !== APPLE_KEY_ID) return "bad header";
  if (claims.iss !== APPLE_TEAM || claims.sub !== "portal-apple" || claims.aud !== issuer) return "bad claims";
  const now = Math.floor(Date.now() / 1000);
  if (!(claims.exp > now && claims.exp - claims.iat <= 15777000)) return "expired";
  return null;
};

const server = http.createServer();
server.listen(Number(process.env.PORT || 0), "127.0.0.1", () => {
  const port = server.address().port;
  // ISSUER_PATH mounts the provider under a path, as Microsoft's per-tenant issuers are
  // (`https://login.microsoftonline.com/<tenant>/v2.0`).
  const mount = process.env.ISSUER_PATH || "";
  const issuer = `http://127.0.0.1:${port}${mount}`;
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
      // Apple: form_post answers, the secret checked above, then swapped for this one.
      { ...client("portal-apple", "RS256"), token_endpoint_auth_method: "client_secret_post", client_secret: "apple-checked" },
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
  const callback = provider.callback();
  // Mounted under a path as express would mount it: the provider reads the prefix from originalUrl.
  const handle = (req, res) => {
    if (mount && req.url.startsWith(mount)) {
      req.originalUrl = req.url;
      req.url = req.url.slice(mount.length) || "/";
    }
    return callback(req, res);
  };
  server.on("request", (req, res) => {
    // The rewritten request (below) comes back through here: it goes straight on.
    const inner = req.headers["x-apple-secret-checked"] === checkedMarker;
    if (req.method !== "POST" || !req.url.startsWith(`${mount}/token`) || inner) return handle(req, res);
    const chunks = [];
    req.on("data", (chunk) => chunks.push(chunk));
    req.on("end", () => {
      const form = new URLSearchParams(Buffer.concat(chunks).toString());
      if (form.get("client_id") === "portal-apple") {
        const problem = appleSecretProblem(form.get("client_secret"), issuer);
        if (problem) {
          res.writeHead(401, { "content-type": "application/json" });
          return res.end(JSON.stringify({ error: "invalid_client", error_description: problem }));
        }
        form.set("client_secret", "apple-checked");
      }
      const body = form.toString();
      // The (rewritten) request goes to the provider itself.
      const forward = http.request(
        { host: "127.0.0.1", port, path: req.url, method: "POST",
          headers: { ...req.headers, "content-length": Buffer.byteLength(body), "x-apple-secret-checked": checkedMarker } },
        (answer) => { res.writeHead(answer.statusCode, answer.headers); answer.pipe(res); },
      );
      forward.end(body);
    });
  });
  const applePem = appleKey.privateKey.export({ format: "der", type: "pkcs8" }).toString("base64");
  console.log(`apple ${APPLE_TEAM} ${APPLE_KEY_ID} ${applePem}`);
  console.log(`listening ${port}`);
});
