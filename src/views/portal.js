// account-portal: progressive enhancement only. Every page works without this file; with it,
// password fields get a show/hide control, a submitted form cannot be sent twice, invitation
// links get a copy button, "Send a new code" counts its wait down, and passkeys appear. Served from the portal's own origin (CSP script-src 'self').
"use strict";

document.querySelectorAll("input[type=password][data-show]").forEach((input) => {
  const button = document.createElement("button");
  button.type = "button";
  button.className = "secondary reveal";
  button.setAttribute("aria-controls", input.id);
  button.setAttribute("aria-pressed", "false");
  button.textContent = input.dataset.show;
  button.addEventListener("click", () => {
    const shown = input.type === "text";
    input.type = shown ? "password" : "text";
    button.setAttribute("aria-pressed", String(!shown));
    button.textContent = shown ? input.dataset.show : input.dataset.hide;
  });
  input.insertAdjacentElement("afterend", button);
});

document.querySelectorAll("form").forEach((form) => {
  form.addEventListener("submit", (event) => {
    if (form.dataset.sent) {
      event.preventDefault();
      return;
    }
    form.dataset.sent = "1";
    const button = event.submitter;
    if (button) {
      button.setAttribute("aria-busy", "true");
    }
  });
});

// A page restored from the back/forward cache can be submitted again.
window.addEventListener("pageshow", () => {
  document.querySelectorAll("form[data-sent]").forEach((form) => delete form.dataset.sent);
  document.querySelectorAll("[aria-busy=true]").forEach((button) => button.removeAttribute("aria-busy"));
});

document.querySelectorAll("[data-copy]").forEach((button) => {
  const source = document.getElementById(button.dataset.copy);
  button.hidden = false;
  button.addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(source.value);
      button.textContent = button.dataset.copied;
    } catch {
      source.select();
    }
  });
});

// "Send a new code" waits a minute after each email: the button says how long, then wakes up.
document.querySelectorAll("button[data-wait]").forEach((button) => {
  let left = Number(button.dataset.wait);
  const tick = () => {
    if (left <= 0) {
      button.disabled = false;
      button.textContent = button.dataset.readyText;
      return;
    }
    button.disabled = true;
    button.textContent = button.dataset.waitText.replace("{seconds}", String(left));
    left -= 1;
    setTimeout(tick, 1000);
  };
  tick();
});

// Passkeys (WebAuthn). A passkey form is hidden until this finds WebAuthn; its button runs the
// ceremony and posts the result as an ordinary form, so the server's page says what happened.
// `data-passkey="get"` forms fetch a challenge first; `"create"` forms carry their options.
const fromBase64url = (text) => {
  const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
  const binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  return Uint8Array.from(binary, (c) => c.charCodeAt(0)).buffer;
};
const toBase64url = (buffer) => {
  const bytes = new Uint8Array(buffer);
  let binary = "";
  bytes.forEach((b) => {
    binary += String.fromCharCode(b);
  });
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
};
const credentialJson = (credential) => {
  const response = credential.response;
  const out = { id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type, response: {} };
  out.response.clientDataJSON = toBase64url(response.clientDataJSON);
  if (response.attestationObject) {
    out.response.attestationObject = toBase64url(response.attestationObject);
  }
  if (response.authenticatorData) {
    out.response.authenticatorData = toBase64url(response.authenticatorData);
    out.response.signature = toBase64url(response.signature);
    out.response.userHandle = response.userHandle ? toBase64url(response.userHandle) : null;
  }
  return JSON.stringify(out);
};
const passkeyError = (form, error) => {
  const region = form.querySelector("[data-passkey-error]");
  const button = form.querySelector("button[type=submit]");
  if (!region || !button) {
    return;
  }
  const cancelled = error && (error.name === "NotAllowedError" || error.name === "AbortError");
  region.textContent = cancelled ? button.dataset.cancelled : button.dataset.failed;
  region.hidden = false;
  delete form.dataset.sent;
  button.removeAttribute("aria-busy");
};
const fetchChallenge = async (form) => {
  const body = new URLSearchParams();
  body.set("csrf_token", form.querySelector("input[name=csrf_token]").value);
  const answer = await fetch("/passkeys/challenge", {
    method: "POST",
    body,
    credentials: "same-origin",
    headers: { "Content-Type": "application/x-www-form-urlencoded" },
  });
  if (!answer.ok) {
    throw new Error("challenge " + answer.status);
  }
  return answer.json();
};
const finish = (form, flow, credential) => {
  form.querySelector("input[name=passkey_flow]").value = flow;
  form.querySelector("input[name=passkey_credential]").value = credentialJson(credential);
  form.dataset.sent = "1";
  form.submit();
};
let conditional = null;
const passkeyGet = async (form, mediation) => {
  const options = await fetchChallenge(form);
  const publicKey = {
    challenge: fromBase64url(options.challenge),
    rpId: options.rpId,
    timeout: options.timeout,
    userVerification: "preferred",
  };
  const request = { publicKey };
  if (mediation) {
    conditional = new AbortController();
    request.mediation = mediation;
    request.signal = conditional.signal;
  }
  const credential = await navigator.credentials.get(request);
  if (credential) {
    finish(form, options.flow, credential);
  }
};
const passkeyCreate = async (form) => {
  const options = JSON.parse(form.dataset.options);
  const publicKey = {
    challenge: fromBase64url(options.challenge),
    rp: options.rp,
    user: { id: fromBase64url(options.user.id), name: options.user.name, displayName: options.user.displayName },
    pubKeyCredParams: options.algorithms.map((alg) => ({ type: "public-key", alg })),
    excludeCredentials: options.exclude.map((id) => ({ type: "public-key", id: fromBase64url(id) })),
    authenticatorSelection: { residentKey: "required", requireResidentKey: true, userVerification: "preferred" },
    attestation: "none",
    timeout: options.timeout,
  };
  const credential = await navigator.credentials.create({ publicKey });
  finish(form, options.flow, credential);
};
if (window.PublicKeyCredential && navigator.credentials) {
  document.querySelectorAll("[data-passkey]").forEach((element) => {
    element.hidden = false;
  });
  document.querySelectorAll("[data-passkey-without]").forEach((element) => {
    element.hidden = true;
  });
  document.querySelectorAll("form[data-passkey=get], form[data-passkey=create]").forEach((form) => {
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      if (form.dataset.ceremony) {
        return;
      }
      form.dataset.ceremony = "1";
      if (conditional) {
        conditional.abort();
        conditional = null;
      }
      const ceremony = form.dataset.passkey === "create" ? passkeyCreate(form) : passkeyGet(form, null);
      ceremony
        .catch((error) => passkeyError(form, error))
        .finally(() => delete form.dataset.ceremony);
    });
  });
  // Autofill: the browser offers passkeys in the identifier field's suggestions.
  const autofill = document.querySelector("form[data-passkey=get][data-autofill]");
  if (autofill && PublicKeyCredential.isConditionalMediationAvailable) {
    PublicKeyCredential.isConditionalMediationAvailable().then((available) => {
      if (available) {
        passkeyGet(autofill, "conditional").catch(() => {});
      }
    });
  }
}

// Leaving for a sign-in provider from a signed-in page: the page's link is followed at once.
document.querySelectorAll("a[data-follow]").forEach((link) => window.location.assign(link.href));

// A provider's answer posted from its own site, passed on from this one at once.
document.querySelectorAll("form[data-autosubmit]").forEach((form) => form.submit());
