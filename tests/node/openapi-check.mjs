// Checks the Backend API against its own OpenAPI document with software that did not come from
// this project: the document is validated by @seriousme/openapi-schema-validator (OpenAPI 3.1's
// schema), then a client generated at run time from the document (openapi-client-axios) calls
// every operation by its operationId, and each answer is checked against the response schema the
// document gives for its status (Ajv, JSON Schema 2020-12, as OpenAPI 3.1 uses).
//
// Every operation the document names must be called at least once here.
//
// Usage: node openapi-check.mjs <portal base URL> <api key>. Prints `ok <calls>` and exits 0,
// or prints the problem and exits 1.
import { Validator } from "@seriousme/openapi-schema-validator";
import { OpenAPIClientAxios } from "openapi-client-axios";
import Ajv2020 from "ajv/dist/2020.js";

const [base, key] = process.argv.slice(2);
const fail = (message) => {
  console.log(`FAIL ${message}`);
  process.exit(1);
};

const fetched = await fetch(`${base}/api/v1/openapi.json`);
if (fetched.status !== 200) fail(`openapi.json answered ${fetched.status}`);
const document = await fetched.json();

const validation = await new Validator().validate(structuredClone(document));
if (!validation.valid) fail(`the document is not valid OpenAPI: ${JSON.stringify(validation.errors)}`);

const ajv = new Ajv2020({ strict: false, validateFormats: false });
ajv.addSchema(document, "openapi");
const operations = {};
for (const [path, item] of Object.entries(document.paths)) {
  for (const [method, operation] of Object.entries(item)) {
    if (operation.operationId) operations[operation.operationId] = { path, method, operation };
  }
}
const resolve = (node) => {
  while (node && node.$ref) {
    node = node.$ref.replace(/^#\//, "").split("/").reduce((at, part) => at[part], document);
  }
  return node;
};
let calls = 0;
const called = new Set();
const check = (operationId, answer, expected) => {
  calls += 1;
  called.add(operationId);
  if (answer.status !== expected) {
    fail(`${operationId} answered ${answer.status}, not ${expected}: ${JSON.stringify(answer.data)}`);
  }
  const response = resolve(operations[operationId].operation.responses[String(answer.status)]);
  if (!response) fail(`${operationId}: the document has no ${answer.status} answer`);
  // Every answer's schema in the document is a reference to one of its components.
  const validate = ajv.compile({ $ref: `openapi${response.content["application/json"].schema.$ref}` });
  if (!validate(answer.data)) {
    fail(`${operationId} ${answer.status} does not match the document: ${ajv.errorsText(validate.errors)} in ${JSON.stringify(answer.data)}`);
  }
  return answer.data;
};

const api = new OpenAPIClientAxios({
  definition: document,
  axiosConfigDefaults: {
    baseURL: base,
    headers: { Authorization: `Bearer ${key}` },
    validateStatus: () => true,
  },
});
const client = await api.init();

const ada = check("createUser", await client.createUser(null, {
  email_address: "ada@example.com", username: "ada", first_name: "Ada",
  password: "a long enough passphrase", public_metadata: { plan: "pro" },
}), 201);
check("createUser", await client.createUser(null, { email_address: "ada@example.com" }), 409);
check("createUser", await client.createUser(null, { email_address: "bea@example.com", username: "with space" }), 422);
check("createUser", await client.createUser(null, { email_address: "bea@example.com", admin: true }), 400);
const got = check("getUser", await client.getUser({ user_id: ada.id }), 200);
if (got.public_metadata.plan !== "pro") fail("the metadata did not round-trip");
check("getUser", await client.getUser({ user_id: "user_00000000000000000000000000000000" }), 404);
const list = check("listUsers", await client.listUsers({ query: "AD", limit: 5 }), 200);
if (list.total_count !== 1) fail(`the search found ${list.total_count}`);
check("listUsers", await client.listUsers({ email_address: ["ada@example.com", "x@example.com"] }), 200);
check("listUsers", await client.listUsers({ limit: 0 }), 400);
check("updateUser", await client.updateUser({ user_id: ada.id }, { first_name: null, private_metadata: { id: 7 } }), 200);
check("listUserSessions", await client.listUserSessions({ user_id: ada.id }), 200);
check("revokeUserSessions", await client.revokeUserSessions({ user_id: ada.id }), 200);
check("revokeUserSession", await client.revokeUserSession({ user_id: ada.id, session_id: "sess_00000000000000000000000000000000" }), 404);
check("listUserOrganizationMemberships", await client.listUserOrganizationMemberships({ user_id: ada.id }), 200);
const bea = check("createUser", await client.createUser(null, { email_address: "bea@example.com" }), 201);
const acme = check("createOrganization", await client.createOrganization(null, {
  name: "Acme", created_by: ada.id, public_metadata: { tier: "gold" },
}), 201);
check("createOrganization", await client.createOrganization(null, { name: "Acme", slug: "acme", created_by: ada.id }), 409);
check("listOrganizations", await client.listOrganizations({ query: "acm" }), 200);
check("getOrganization", await client.getOrganization({ organization_id: acme.id }), 200);
check("updateOrganization", await client.updateOrganization({ organization_id: acme.id }, { name: "Acme Inc", require_two_step: true }), 200);
check("createOrganizationMembership", await client.createOrganizationMembership({ organization_id: acme.id }, { user_id: bea.id, role: "member" }), 201);
check("listOrganizationMemberships", await client.listOrganizationMemberships({ organization_id: acme.id }), 200);
check("updateOrganizationMembership", await client.updateOrganizationMembership({ organization_id: acme.id, user_id: ada.id }, { role: "member" }), 409);
check("updateOrganizationMembership", await client.updateOrganizationMembership({ organization_id: acme.id, user_id: bea.id }, { role: "admin" }), 200);
check("deleteOrganizationMembership", await client.deleteOrganizationMembership({ organization_id: acme.id, user_id: bea.id }), 200);
const invitation = check("createOrganizationInvitation", await client.createOrganizationInvitation({ organization_id: acme.id }, { email_address: "cy@example.com", role: "member" }), 201);
check("listOrganizationInvitations", await client.listOrganizationInvitations({ organization_id: acme.id }), 200);
check("revokeOrganizationInvitation", await client.revokeOrganizationInvitation({ organization_id: acme.id, invitation_id: invitation.id }), 200);
check("listUserOrganizationMemberships", await client.listUserOrganizationMemberships({ user_id: ada.id }), 200);
check("deleteOrganization", await client.deleteOrganization({ organization_id: acme.id }), 200);
check("getOrganization", await client.getOrganization({ organization_id: acme.id }), 404);
const banned = check("banUser", await client.banUser({ user_id: ada.id }), 200);
if (!banned.banned) fail("not banned");
check("unbanUser", await client.unbanUser({ user_id: ada.id }), 200);
check("deleteUser", await client.deleteUser({ user_id: ada.id }), 200);
check("deleteUser", await client.deleteUser({ user_id: ada.id }), 404);

const invited = check("createInvitation", await client.createInvitation(null, { email_address: "dee@example.com", expires_in_days: 7, notify: false }), 201);
check("createInvitation", await client.createInvitation(null, { email_address: "dee@example.com", expires_in_days: 0 }), 422);
check("listInvitations", await client.listInvitations(), 200);
check("revokeInvitation", await client.revokeInvitation({ invitation_id: invited.id }), 200);
check("revokeInvitation", await client.revokeInvitation({ invitation_id: invited.id }), 404);
check("listWaitlist", await client.listWaitlist({ limit: 5 }), 200);
check("approveWaitlistEntry", await client.approveWaitlistEntry({ entry_id: "wait_none" }), 404);
check("removeWaitlistEntry", await client.removeWaitlistEntry({ entry_id: "wait_none" }), 404);
check("deliverWebhooks", await client.deliverWebhooks(), 409);
check("listWebhookEvents", await client.listWebhookEvents({ limit: 5 }), 200);
check("retryWebhookEvent", await client.retryWebhookEvent({ event_id: "msg_none" }), 404);

const anonymous = await fetch(`${base}/api/v1/users`);
calls += 1;
const refused = await anonymous.json();
const unauthorized = ajv.compile({ $ref: "openapi#/components/schemas/Error" });
if (anonymous.status !== 401 || !unauthorized(refused)) fail(`without a key: ${anonymous.status} ${JSON.stringify(refused)}`);

const uncalled = Object.keys(operations).filter((id) => !called.has(id));
if (uncalled.length) fail(`operations never called: ${uncalled.join(", ")}`);
console.log(`ok ${calls}`);
