import type { FastifyPluginAsyncTypebox } from '@fastify/type-provider-typebox';
import { TEMPLATE_CATALOGUE, renderTemplate, requiredFields } from '@smsq/shared';
import { commonErrors } from '../common-schema.js';
import { TemplateList } from './schema.js';

const templates = TEMPLATE_CATALOGUE.map((t) => ({
  name: t.name,
  category: t.category,
  requiredFields: requiredFields(t),
  text: t.text,
  example: renderTemplate(t.name, t.exampleData).body,
  exampleData: t.exampleData,
}));

export const templateRoutes: FastifyPluginAsyncTypebox = async (app) => {
  app.get(
    '/templates',
    {
      schema: {
        tags: ['templates'],
        summary: 'The message templates: POST /v1/messages with "template" and "data"',
        response: { 200: TemplateList, ...commonErrors },
      },
    },
    async () => ({ templates }),
  );
};
