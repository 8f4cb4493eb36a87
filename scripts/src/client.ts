import { z } from 'zod';
import { type TicketResponse, parseEnv } from '@triage/shared';

export const clientConfigSchema = z.object({
  TRIAGE_URL: z.url().default('http://127.0.0.1:8000'),
  // The key `npm start` prints, or one from `npm run keys -- create`; unset for AUTH=off.
  TRIAGE_API_KEY: z.string().min(1).optional(),
});

export class TriageClient {
  constructor(
    readonly baseUrl: string,
    private readonly apiKey?: string,
  ) {}

  /** Headers every API call carries (the Bearer key when there is one). */
  headers(extra: Record<string, string> = {}): Record<string, string> {
    return this.apiKey === undefined ? extra : { Authorization: `Bearer ${this.apiKey}`, ...extra };
  }

  async health(): Promise<boolean> {
    try {
      return (await fetch(`${this.baseUrl}/health`)).ok;
    } catch {
      return false;
    }
  }

  async submit(ticket: { subject?: string; body: string }): Promise<string> {
    const res = await fetch(`${this.baseUrl}/v2/tickets`, {
      method: 'POST',
      headers: this.headers({ 'Content-Type': 'application/json' }),
      body: JSON.stringify(ticket),
    });
    if (res.status !== 202) throw new Error(`POST /v2/tickets → ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { ticket_id: string }).ticket_id;
  }

  async get(id: string): Promise<TicketResponse> {
    const res = await fetch(`${this.baseUrl}/v2/tickets/${id}`, { headers: this.headers() });
    if (!res.ok) throw new Error(`GET /v2/tickets/${id} → ${res.status}`);
    return (await res.json()) as TicketResponse;
  }

  async next(): Promise<TicketResponse | undefined> {
    const res = await fetch(`${this.baseUrl}/v2/tickets/next`, { headers: this.headers() });
    if (res.status === 404) return undefined;
    if (!res.ok) throw new Error(`GET /v2/tickets/next → ${res.status}`);
    return (await res.json()) as TicketResponse;
  }

  /** Polls until the ticket is processed or failed. */
  async settled(id: string, pollMs = 100): Promise<TicketResponse> {
    for (;;) {
      const ticket = await this.get(id);
      if (ticket.status === 'processed' || ticket.status === 'failed') return ticket;
      await new Promise((r) => setTimeout(r, pollMs));
    }
  }
}

export const clientFromEnv = () => {
  const config = parseEnv(clientConfigSchema);
  return new TriageClient(config.TRIAGE_URL, config.TRIAGE_API_KEY);
};
