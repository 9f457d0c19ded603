// The toolbar's account controls: 登录 / Sign in when the server offers sign-in, then
// the signed-in person's name and 退出 / Sign out (signin.js does the protocol).
import { t } from './i18n.js';
import { canSignIn, openSession, signInConfig, takeNotice } from './signin.js';

// The tab's session, before anything is fetched (its token goes with every request); a
// refused sign-in or a notice from before a reload is said on the status line.
export async function startSession(dataset, say) {
  const config = signInConfig(dataset.signin);
  const notice = takeNotice();
  // Signing out or an expiry reloads the page: the catalog is the public's again.
  const { session, problem } = await openSession(config, { onEnd: () => window.location.reload() });
  return { session, message: () => messageOf(problem, notice) };
}

function messageOf(problem, notice) {
  if (problem) return problem.detail ? `${t(problem.reason)} (${problem.detail})` : t(problem.reason);
  return notice ? t(notice) : '';
}

export function wireAccount(session, root, say) {
  const signIn = root.querySelector('#signin');
  const user = root.querySelector('#user');
  const signOut = root.querySelector('#signout');
  signIn.addEventListener('click', () => {
    signIn.disabled = true; // the page is about to leave for the provider
    session.signIn().catch((error) => {
      signIn.disabled = false;
      say(`${t('signinFailed')} (${error.message})`);
    });
  });
  signOut.addEventListener('click', () => session.end('signedOut'));
  const render = () => {
    const signedIn = Boolean(session.token());
    signIn.hidden = !session.enabled() || signedIn;
    signIn.disabled = !canSignIn();
    signIn.title = canSignIn() ? t('signIn') : t('signinNeedsHttps');
    user.hidden = signOut.hidden = !signedIn;
    user.textContent = session.user() || '';
    user.title = `${t('signedInAs')}${session.user() || ''}`;
  };
  render();
  return render;
}
