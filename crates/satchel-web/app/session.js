// The sign-in page: Email, Password, "Sign in", and "Create account" when the server allows it.

import * as api from './api.js';
import { h } from './dom.js';
import { t } from './i18n.js';

/** Shows the sign-in form in `root`; resolves once signed in. */
export function signInPage(root, registrationOpen) {
  return new Promise((resolve) => {
    const email = h('input', { id: 'email', type: 'email', name: 'email', autocomplete: 'username', required: true });
    const password = h('input', {
      id: 'password',
      type: 'password',
      name: 'password',
      autocomplete: 'current-password',
      required: true,
    });
    const message = h('p', { class: 'form-error', role: 'alert' });
    const busy = (on) => form.querySelectorAll('button').forEach((b) => (b.disabled = on));

    async function submit(event) {
      event.preventDefault();
      const creating = event.submitter?.value === 'create';
      message.textContent = '';
      busy(true);
      try {
        if (creating) await api.register(email.value, password.value);
        const session = await api.signIn(email.value, password.value);
        resolve(session);
      } catch (error) {
        message.textContent = creating ? `${t.registrationFailed}: ${error.message}` : t.signInFailed;
        busy(false);
      }
    }

    const form = h(
      'form',
      { class: 'signin', onsubmit: submit },
      h('h1', {}, t.signInTitle),
      h('label', { for: 'email' }, t.email),
      email,
      h('label', { for: 'password' }, t.password),
      password,
      message,
      h(
        'div',
        { class: 'signin-actions' },
        h('button', { type: 'submit', class: 'primary', value: 'signin' }, t.signIn),
        registrationOpen && h('button', { type: 'submit', value: 'create' }, t.createAccount),
      ),
    );
    root.replaceChildren(h('main', { class: 'signin-page' }, form));
    email.focus();
  });
}
