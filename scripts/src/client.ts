import { z } from 'zod';
import { type TicketResponse, parseEnv } from '@triage/shared';

export const clientConfigSchema = z.object({
  TRIAGE_URL: z.url().default('http://127.0.0.1:8000'),
});

export class TriageClient {
  constructor(readonly baseUrl: string) {}

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
      headers: { 'Content-Type': 'application/json' },
      body: JSON.stringify(ticket),
    });
    if (res.status !== 202) throw new Error(`POST /v2/tickets → ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { ticket_id: string }).ticket_id;
  }

  async get(id: string): Promise<TicketResponse> {
    const res = await fetch(`${this.baseUrl}/v2/tickets/${id}`);
    if (!res.ok) throw new Error(`GET /v2/tickets/${id} → ${res.status}`);
    return (await res.json()) as TicketResponse;
  }

  async next(): Promise<TicketResponse | undefined> {
    const res = await fetch(`${this.baseUrl}/v2/tickets/next`);
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

export const clientFromEnv = () => new TriageClient(parseEnv(clientConfigSchema).TRIAGE_URL);
