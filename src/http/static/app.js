// The mn dashboard: a small preact + htm app served as plain ES modules (no build step).
// Routing by path (pushState); every page reads the daemon's JSON API and refreshes on its
// server-sent events, never by reloading.
import { h, render } from '/static/vendor/preact.mjs';
import { useEffect, useState } from '/static/vendor/preact-hooks.mjs';
import htm from '/static/vendor/htm.mjs';
import { getToken, setToken } from '/static/api.js';
import { DeploymentPage, DeploymentsPage, EventsPage, SchedulesPage, JobPage, JobsPage, NotFound, Overview, ServicesPage } from '/static/pages.js';

const html = htm.bind(h);

function route(path) {
  if (path === '/' || path === '') return { page: Overview, params: {} };
  if (/^\/jobs\/?$/.test(path)) return { page: JobsPage, params: {} };
  const job = /^\/jobs\/([^/]+)\/?$/.exec(path);
  if (job) return { page: JobPage, params: { id: decodeURIComponent(job[1]) } };
  if (/^\/services\/?$/.test(path)) return { page: ServicesPage, params: {} };
  if (/^\/events\/?$/.test(path)) return { page: EventsPage, params: {} };
  if (/^\/schedules\/?$/.test(path)) return { page: SchedulesPage, params: {} };
  if (/^\/deployments\/?$/.test(path)) return { page: DeploymentsPage, params: {} };
  const dep = /^\/deployments\/([^/]+)\/?$/.exec(path);
  if (dep) return { page: DeploymentPage, params: { id: decodeURIComponent(dep[1]) } };
  return { page: NotFound, params: {} };
}

function TokenBox() {
  const [value, setValue] = useState(getToken());
  const [saved, setSaved] = useState(getToken() !== '');
  return html`<form class="token" onSubmit=${(e) => { e.preventDefault(); setToken(value.trim()); setSaved(value.trim() !== ''); }}>
    <label>Token <input type="password" name="token" autocomplete="off" placeholder="MN_GRPC_AUTH_TOKEN" value=${value} onInput=${(e) => setValue(e.currentTarget.value)} /></label>
    <button type="submit">${saved ? 'Saved' : 'Use'}</button>
  </form>`;
}

function App() {
  const [path, setPath] = useState(location.pathname);
  useEffect(() => {
    const onPop = () => setPath(location.pathname);
    // Same-origin links navigate in place; modified clicks and other origins behave as usual.
    const onClick = (e) => {
      const a = e.target.closest?.('a[href]');
      if (!a || a.target || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
      const url = new URL(a.href, location.href);
      if (url.origin !== location.origin || url.pathname === '/metrics' || url.pathname.startsWith('/api/')) return;
      e.preventDefault();
      history.pushState(null, '', url.pathname + url.search);
      setPath(url.pathname);
      window.scrollTo(0, 0);
    };
    window.addEventListener('popstate', onPop);
    document.addEventListener('click', onClick);
    return () => {
      window.removeEventListener('popstate', onPop);
      document.removeEventListener('click', onClick);
    };
  }, []);
  const { page: Page, params } = route(path);
  const nav = (href, label) => html`<a href=${href} class=${(href === '/' ? path === '/' : path.startsWith(href)) ? 'active' : ''}>${label}</a>`;
  return html`<header>
      <a class="brand" href="/">mn</a>
      <nav>${nav('/', 'Overview')}${nav('/jobs', 'Jobs')}${nav('/services', 'Services')}${nav('/deployments', 'Deployments')}${nav('/schedules', 'Schedules')}${nav('/events', 'Events')}<a href="/metrics">Metrics</a></nav>
      <${TokenBox} />
    </header>
    <main><${Page} key=${path} ...${params} /></main>`;
}

const root = document.getElementById('app');
root.textContent = '';
render(html`<${App} />`, root);
