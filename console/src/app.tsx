import { useState } from 'preact/hooks';
import { ApiError, endpoints, session } from './api';
import { AgentQueue } from './agent-queue';
import { navigate, useRoute } from './hooks';
import { LeadView } from './lead-view';
import { TicketPage } from './ticket-page';

function Login({ onLogin }: { onLogin: () => void }) {
  const [key, setKey] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      // any authenticated read proves the key; the views say what a missing scope hides
      await endpoints.status(key.trim()).catch((err: unknown) => {
        if (err instanceof ApiError && err.status === 403) return null;
        throw err;
      });
      session.save(key.trim());
      onLogin();
    } catch (err) {
      setError(err instanceof ApiError ? err.message : String(err));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="login">
      <form onSubmit={(e) => void submit(e)} class="card">
        <h1>Triage console</h1>
        <label for="api-key">API key</label>
        <input id="api-key" type="password" autoComplete="off" placeholder="trk_…" value={key} onInput={(e) => setKey((e.target as HTMLInputElement).value)} autoFocus />
        <p class="hint">Kept for this browser tab only (sessionStorage). Create one with <code>npm run keys -- create --name &lt;name&gt; --scope agent</code>.</p>
        {error && <p class="error" role="alert">{error}</p>}
        <button type="submit" class="primary" disabled={busy || key.trim() === ''}>Sign in</button>
      </form>
    </main>
  );
}

export function App() {
  const [signedIn, setSignedIn] = useState(session.key() !== null);
  const route = useRoute();
  if (!signedIn) return <Login onLogin={() => setSignedIn(true)} />;
  const signOut = () => {
    session.clear();
    setSignedIn(false);
  };
  const ticketId = /^\/ticket\/([0-9a-f-]{36})$/i.exec(route)?.[1];
  const tab = route.startsWith('/lead') ? 'lead' : 'agent';
  return (
    <>
      <header class="topbar">
        <span class="brand">Triage</span>
        <nav aria-label="Views">
          <a href="#/agent" aria-current={tab === 'agent' ? 'page' : undefined}>Agent</a>
          <a href="#/lead" aria-current={tab === 'lead' ? 'page' : undefined}>Lead</a>
        </nav>
        <button class="link" onClick={signOut}>Sign out</button>
      </header>
      {ticketId ? <TicketPage id={ticketId} onDone={() => navigate('/agent')} /> : tab === 'lead' ? <LeadView /> : <AgentQueue />}
    </>
  );
}
