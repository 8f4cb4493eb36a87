import Ajv2020 from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import type { Response } from 'supertest';
import { openApiDocument } from '../../services/gateway/src/openapi/document';

/**
 * Checks a supertest response against the OpenAPI document: the operation exists, the status
 * is documented, the content type is one the document names, the body matches that schema and
 * the required headers are there. Use it in component tests: `expectDocumented(await request(app).get(...))`.
 */
type Json = Record<string, unknown>;
const document = openApiDocument() as unknown as Json;
const ajv = new Ajv2020({ strict: false, allErrors: true });
addFormats(ajv);
ajv.addSchema(document, 'openapi');

const pointer = (...parts: string[]) => parts.map((p) => p.replace(/~/g, '~0').replace(/\//g, '~1')).join('/');

function resolve(node: Json): Json {
  const ref = node.$ref;
  if (typeof ref !== 'string') return node;
  const parts = ref.replace(/^#\//, '').split('/').map((p) => p.replace(/~1/g, '/').replace(/~0/g, '~'));
  return resolve(parts.reduce<Json>((at, key) => at[key] as Json, document));
}

/** The document's path template for a concrete path; a literal path wins over a template. */
export function pathTemplateOf(path: string): string | undefined {
  const templates = Object.keys(document.paths as Json);
  if (templates.includes(path)) return path;
  return templates.find((t) => new RegExp(`^${t.replace(/\{[^}]+\}/g, '[^/]+')}$`).test(path));
}

export function expectDocumented(res: Response): void {
  const req = (res as unknown as { req: { method: string; path: string } }).req;
  const method = req.method.toLowerCase();
  const path = new URL(req.path, 'http://x').pathname;
  const template = pathTemplateOf(path);
  if (!template) throw new Error(`${req.method} ${path} is not in the OpenAPI document`);
  const operation = (document.paths as Json)[template] as Json;
  if (!operation[method]) throw new Error(`${req.method} ${template} is not in the OpenAPI document`);
  const responses = (operation[method] as Json).responses as Json;
  const documented = responses[String(res.status)] ?? responses.default;
  if (!documented) throw new Error(`${req.method} ${template} answered ${res.status}, which the document does not list (${Object.keys(responses).join(', ')})`);
  const response = resolve(documented as Json);

  for (const [name, header] of Object.entries((response.headers as Json | undefined) ?? {})) {
    if (resolve(header as Json).required && res.headers[name.toLowerCase()] === undefined) {
      throw new Error(`${req.method} ${template} ${res.status}: required header ${name} is missing`);
    }
  }
  const content = response.content as Json | undefined;
  if (!content) return;
  const mediaType = String(res.headers['content-type'] ?? '').split(';')[0]!.trim();
  if (!(mediaType in content)) throw new Error(`${req.method} ${template} ${res.status}: content type ${mediaType} is not documented (${Object.keys(content).join(', ')})`);
  if (mediaType !== 'application/json') return;
  const schemaRef = `openapi#/${pointer('paths', template, method, 'responses', String(res.status) in responses ? String(res.status) : 'default')}`;
  // Shared responses are $refs into components; validate against the resolved media type's schema.
  const validate =
    typeof (documented as Json).$ref === 'string'
      ? ajv.getSchema(`openapi${(documented as Json).$ref as string}/${pointer('content', mediaType, 'schema')}`)
      : ajv.getSchema(`${schemaRef}/${pointer('content', mediaType, 'schema')}`);
  if (!validate) throw new Error(`no schema for ${req.method} ${template} ${res.status}`);
  if (!validate(res.body)) {
    throw new Error(`${req.method} ${template} ${res.status}: body violates the document: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(res.body).slice(0, 500)}`);
  }
}
