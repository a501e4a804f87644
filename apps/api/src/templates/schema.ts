import { Type } from '@sinclair/typebox';
import { CATEGORIES } from '@smsq/shared';

export const TemplateList = Type.Object({
  templates: Type.Array(
    Type.Object({
      name: Type.String({ examples: ['card_alert'] }),
      category: Type.Union(
        CATEGORIES.map((c) => Type.Literal(c)),
        {
          description: 'A message from this template always has this category',
        },
      ),
      requiredFields: Type.Array(Type.String(), {
        description: 'Keys of `data` it needs (strings or numbers; newlines become spaces)',
        examples: [['last4']],
      }),
      text: Type.String({ description: 'The text with `{field}` placeholders' }),
      example: Type.String({
        description: 'The text rendered with example data',
        examples: ['Your card ending 4242 was blocked. If this was not you, call the number on the back of your card.'],
      }),
      exampleData: Type.Record(Type.String(), Type.String()),
    }),
  ),
});
