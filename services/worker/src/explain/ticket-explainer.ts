/**
 * Why the served model predicted what it did, word by word (docs/console.md, "Explanations").
 *
 * The served queue distribution is p = normalise(q^(1/T)) with the mixture q = w·p_enc + (1 − w)·p_ngram
 * (triage-model.ts). Evidence is measured on q_c for the predicted queue c:
 * - n-gram part: (1 − w) times the n-gram model's exact linear token shares (NgramModel.attribute);
 * - encoder part: occlusion of one segment at a time. The text is cut into contiguous segments of
 *   16 words or more; the encoder reads the text once with each segment taken out (one batch), and the
 *   fall of w·p_enc,c that taking a segment out causes is spread evenly over its words. On a ticket
 *   of at most REFINE_MAX_WORDS words the segment with the largest fall is then split into parts, each
 *   taken out in turn (one more batch): each part's own fall goes to its words, and what the parts'
 *   falls do not add up to stays spread over the whole segment, so the segment keeps its total. Reading each
 *   segment alone instead is cheaper, but the kNN vote inside the encoder is sharp: a short text alone
 *   lands in some ticket family, not in its own ticket's, and says little about the words in context.
 *   Taking segments out is what the honesty test measures (docs/console.md has both, measured).
 *   The encoder reads only its first max_length tokens: the segments cover the words it reads (the word
 *   it stops inside included), and the words past them get no encoder share and cost no pass.
 *   w·p_enc,c is read back from the served blend before its confidence map (monotone, so the ranking
 *   is the same, but no sum of parts): q_k = p_k^T / Σ_j p_j^T, and
 *   w·p_enc,c = q_c − (1 − w)·p_ngram,c with p_ngram computed here in pure TypeScript.
 * Urgency is the same with u = w_u·u_enc + (1 − w_u)·u_ngram.
 */
import { performance } from 'node:perf_hooks';
import type { EvidenceSpan, Explanation, NgramModel, TriageModel, TriagePrediction } from '@triage/shared';
import { ticketText } from '@triage/shared';

/** Words per segment, at least: a few words taken out of a long text barely move the encoder, and each segment costs a pass. */
export const SEGMENT_WORDS = 16;
/** At most this many segments: each is a near-full pass over the text, so long tickets get longer segments instead. */
export const MAX_SEGMENTS = 4;
/**
 * The queue's strongest segment is then split into this many parts, each taken out in turn (one more
 * batch): a segment's share spread evenly lands on its function words as much as on its content words.
 */
export const REFINE_PARTS = 4;
/**
 * Only tickets of at most this many words (three segments of minimum length) are refined: their extra
 * passes are short. A longer ticket's would cost as much as its segments' passes again.
 */
export const REFINE_MAX_WORDS = 3 * SEGMENT_WORDS;
/** Evidence entries returned per target, strongest first. */
export const MAX_EVIDENCE = 40;

export interface ExplainTicket {
  ticket_id: string;
  subject?: string | undefined;
  body: string;
}

export interface TicketExplainerDeps {
  ngram: NgramModel;
  /** The version the fallback serves when no encoder is available. */
  fallbackVersion: string;
  /** The encoder when it is healthy, else null (the explanation is then the n-gram model's alone). */
  encoder: () => TriageModel | null;
}

interface Placed {
  field: EvidenceSpan['field'];
  start: number;
  end: number;
}

/** Maps an offset range of ticketText(subject, body) back to the field it came from. */
function placer(subject: string | undefined, body: string): (start: number, end: number) => Placed | null {
  const raw = subject ?? '';
  const trimmed = raw.trim();
  const lead = raw.length - raw.trimStart().length;
  const bodyAt = trimmed.length > 0 ? trimmed.length + 1 : 0;
  return (start, end) => {
    if (start >= bodyAt) return end - bodyAt <= body.length ? { field: 'body', start: start - bodyAt, end: end - bodyAt } : null;
    return end <= trimmed.length ? { field: 'subject', start: start + lead, end: end + lead } : null;
  };
}

/** Contiguous groups of placed tokens, about equal in word count. */
function segmentsOf(placedTokens: number[], count: number): number[][] {
  const n = Math.min(count, placedTokens.length);
  return Array.from({ length: n }, (_, s) =>
    placedTokens.slice(Math.floor((s * placedTokens.length) / n), Math.floor(((s + 1) * placedTokens.length) / n)),
  );
}

function topEvidence(spans: Array<EvidenceSpan | null>): EvidenceSpan[] {
  return spans
    .filter((s): s is EvidenceSpan => s !== null && s.weight !== 0)
    .sort((a, b) => Math.abs(b.weight) - Math.abs(a.weight))
    .slice(0, MAX_EVIDENCE);
}

const round = (x: number) => Number(x.toPrecision(6));

export class TicketExplainer {
  constructor(private readonly deps: TicketExplainerDeps) {}

  async explain(ticket: ExplainTicket): Promise<Explanation> {
    const started = performance.now();
    const { ngram } = this.deps;
    const text = ticketText(ticket.subject, ticket.body);
    // Token positions come from the n-gram tokenizer; the label only matters for the queue shares.
    const layout = ngram.attribute(text, 0);
    const encoder = this.deps.encoder();
    const words = layout.spans.flatMap((s, i) => (s ? [i] : []));
    const seen = encoder ? words.slice(0, (await encoder.inView(text, words.map((w) => layout.spans[w]![1]))) + 1) : [];
    const segments = segmentsOf(seen, Math.min(MAX_SEGMENTS, Math.ceil(seen.length / SEGMENT_WORDS)));
    // The text with one run of words taken out.
    const cut = (run: number[]) => text.slice(0, layout.spans[run[0]!]![0]) + text.slice(layout.spans[run[run.length - 1]!]![1]);
    const variants = segments.map(cut);

    type Scored = Pick<TriagePrediction, 'probabilities' | 'blended' | 'urgency'>;
    let served: Scored = { probabilities: layout.proba, urgency: layout.urgency };
    let without: TriagePrediction[] = [];
    if (encoder) {
      // The full text alone, as the triage job ran it: int8 activations are quantised per batch, so a
      // batch-mate can move the probabilities in the third decimal.
      [served] = (await encoder.predict([text])) as [TriagePrediction];
      without = await encoder.predict(variants);
    }
    const labels = encoder?.labels ?? ngram.labels;
    const c = served.probabilities.indexOf(Math.max(...served.probabilities));
    const category = labels[c] as string;
    const cNgram = ngram.labels.indexOf(category);
    // Fallback: the n-gram model alone (weights 0); an encoder without a blend (or a taxonomy the n-gram model lacks): the encoder alone.
    const blend = !encoder ? { queue_encoder_weight: 0, urgency_encoder_weight: 0, temperature: 1 }
      : encoder.config.blend && cNgram >= 0 ? encoder.config.blend
      : { queue_encoder_weight: 1, urgency_encoder_weight: 1, temperature: 1 };
    const wq = blend.queue_encoder_weight;
    const wu = blend.urgency_encoder_weight;
    const attribution = cNgram <= 0 ? layout : ngram.attribute(text, cNgram);

    // The encoder's part of q_c (w·p_enc,c) and of u (w_u·u_enc), given the n-gram model's scores of the same text.
    const encoderParts = (prediction: Scored, ng: { proba: number[]; urgency: number }) => {
      const powered = (prediction.blended ?? prediction.probabilities).map((p) => Math.pow(p, blend.temperature));
      const q = (powered[c] as number) / powered.reduce((a, b) => a + b, 0);
      return { queue: q - (1 - wq) * (ng.proba[cNgram] ?? 0), urgency: prediction.urgency - (1 - wu) * ng.urgency };
    };
    const encoderQueue = new Float64Array(attribution.tokens.length);
    const encoderUrgency = new Float64Array(attribution.tokens.length);
    let refined: number[][] = [];
    if (encoder) {
      // layout already holds the n-gram model's scores of the full text
      const full = encoderParts(served, layout);
      const drop = (prediction: TriagePrediction, variant: string) => {
        const rest = encoderParts(prediction, wq < 1 || wu < 1 ? ngram.predict(variant) : { proba: [], urgency: 0 });
        return { queue: full.queue - rest.queue, urgency: full.urgency - rest.urgency };
      };
      const share = (run: number[], queue: number, urgency: number) => {
        for (const t of run) {
          encoderQueue[t] = queue;
          encoderUrgency[t] = urgency;
        }
      };
      const drops = segments.map((_, s) => drop(without[s]!, variants[s]!));
      segments.forEach((seg, s) => share(seg, drops[s]!.queue / seg.length, drops[s]!.urgency / seg.length));
      const strongest = drops.reduce((best, d, s) => (d.queue > drops[best]!.queue ? s : best), 0);
      const seg = segments[strongest];
      if (seg && seg.length > 1 && words.length <= REFINE_MAX_WORDS) {
        refined = segmentsOf(seg, Math.min(REFINE_PARTS, seg.length));
        const partVariants = refined.map(cut);
        const parts = (await encoder.predict(partVariants)).map((prediction, i) => drop(prediction, partVariants[i]!));
        // Each part's own drop goes to its words; what the parts' drops do not add up to (words act
        // together, not as a sum) stays spread over the whole segment, so the segment keeps its total.
        const unexplained = (key: 'queue' | 'urgency') => (drops[strongest]![key] - parts.reduce((sum, d) => sum + d[key], 0)) / seg.length;
        const rest = { queue: unexplained('queue'), urgency: unexplained('urgency') };
        refined.forEach((part, i) => share(part, parts[i]!.queue / part.length + rest.queue, parts[i]!.urgency / part.length + rest.urgency));
      }
    }

    const place = placer(ticket.subject, ticket.body);
    const evidence = (ngramShare: Float64Array, ngramWeight: number, encoderShare: Float64Array) =>
      topEvidence(
        attribution.spans.map((span, t) => {
          const where = span && place(span[0], span[1]);
          if (!span || !where) return null;
          const ng = ngramWeight * (ngramShare[t] as number);
          const enc = encoderShare[t] as number;
          return { ...where, text: text.slice(span[0], span[1]), weight: round(ng + enc), ngram: round(ng), encoder: round(enc) };
        }),
      );

    return {
      ticket_id: ticket.ticket_id,
      model_version: encoder?.modelVersion ?? this.deps.fallbackVersion,
      model_used: encoder ? 'encoder' : 'fallback',
      queue: { category, probability: served.probabilities[c] as number, evidence: evidence(attribution.queue, 1 - wq, encoderQueue) },
      urgency: { score: served.urgency, evidence: evidence(attribution.urgencyEvidence, 1 - wu, encoderUrgency) },
      occlusion_segments: segments.length + refined.length,
      compute_ms: Math.round((performance.now() - started) * 10) / 10,
    };
  }
}
