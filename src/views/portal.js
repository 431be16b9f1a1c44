// account-portal: progressive enhancement only. Every page works without this file; with it,
// password fields get a show/hide control, a submitted form cannot be sent twice, invitation
// links get a copy button, and "Send a new code" counts its wait down. Served from the portal's own origin (CSP script-src 'self').
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
