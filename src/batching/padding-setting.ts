import { Type, type Static } from 'typebox';

/**
 * The `padding` model setting (PATCH /api/v1/models/<name>/config, corral.json):
 * which inputs carry the token sequence, which of them is the attention mask,
 * and the id the first non-mask input is padded with. `false` turns padding
 * off; absent means automatic (an `attention_mask` input with a named sequence dim).
 */
export const PaddingSettingSchema = Type.Union([
  Type.Literal(false),
  Type.Object({
    inputs: Type.Array(Type.String({ minLength: 1 }), { minItems: 1, uniqueItems: true }),
    mask: Type.String({ minLength: 1 }),
    pad_id: Type.Optional(Type.Integer({ minimum: 0 })),
  }, { additionalProperties: false }),
]);

export type PaddingSetting = Static<typeof PaddingSettingSchema>;
