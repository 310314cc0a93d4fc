// The sign-in page: an email, then "check your email" (and, in dev, the mailbox link).
import { ApiError, api, devMailboxExists } from "../api";
import { h } from "../dom";

export function signInPage(): HTMLElement {
  const email = h("input", {
    id: "signin-email",
    type: "email",
    name: "email",
    autocomplete: "email",
    required: true,
    placeholder: "you@example.com",
  });
  const error = h("p", { class: "form-error", role: "alert" });
  const submit = h("button", { type: "submit", class: "btn btn-primary btn-block" }, "Sign in");
  const form = h(
    "form",
    { class: "signin-form", novalidate: true },
    h("label", { for: "signin-email" }, "Email"),
    email,
    error,
    submit,
    h("p", { class: "muted small" }, "We email you a one-time sign-in link. No password needed."),
  );
  const card = h(
    "section",
    { class: "signin-card", "aria-labelledby": "signin-title" },
    h("div", { class: "brand brand-lg" }, h("span", { class: "brand-mark" }, "◆"), "CryptoCFD"),
    h("h1", { id: "signin-title" }, "Sign in to trade"),
    h("p", { class: "muted" }, "Long or short BTC, ETH, SOL and more with up to 100× leverage, on a $10,000 demo account."),
    form,
  );

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const address = email.value.trim();
    if (!/^[^@\s]+@[^@\s]+\.[^@\s]+$/.test(address)) {
      error.textContent = "Enter a valid email address.";
      email.focus();
      return;
    }
    error.textContent = "";
    submit.disabled = true;
    submit.textContent = "Sending…";
    api
      .login(address)
      .then(() => showSent(card, address))
      .catch((failure: unknown) => {
        error.textContent = failure instanceof ApiError ? failure.message : "Something went wrong. Try again.";
        submit.disabled = false;
        submit.textContent = "Sign in";
      });
  });

  const page = h("main", { class: "signin-page" }, card, h("p", { class: "muted small signin-foot" }, "CFDs are complex instruments. This is a demo platform with virtual money. ", h("a", { href: "/docs" }, "API explorer")));
  queueMicrotask(() => email.focus());
  return page;
}

function showSent(card: HTMLElement, address: string): void {
  const dev = h("p", { class: "dev-note", hidden: true });
  card.replaceChildren(
    h("div", { class: "brand brand-lg" }, h("span", { class: "brand-mark" }, "◆"), "CryptoCFD"),
    h("h1", { id: "signin-title", tabindex: "-1" }, "Check your email"),
    h("p", {}, "We sent a sign-in link to ", h("strong", {}, address), ". Open it on this device to reach your terminal."),
    dev,
    h("button", { type: "button", class: "btn btn-ghost", onclick: () => location.reload() }, "Use a different email"),
  );
  card.querySelector<HTMLElement>("h1")?.focus();
  void devMailboxExists().then((exists) => {
    if (!exists) return;
    dev.hidden = false;
    dev.append("Development: no email server? Open the ", h("a", { href: "/dev/mailbox" }, "dev mailbox"), " and follow the link.");
  });
}
