import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { alignReadings, characterConfidences, voteLine } from '../../src/runtimes/ocr/line-vote.js';

describe('alignReadings', () => {
  test('identical readings are one agreeing segment', () => {
    assert.deepEqual(alignReadings('Total 42', 'Total 42'), [{ a: 'Total 42', b: 'Total 42', agree: true }]);
  });

  test('a substitution sits between agreeing segments', () => {
    assert.deepEqual(alignReadings('Invoice 0583', 'Invoice O583'), [
      { a: 'Invoice ', b: 'Invoice ', agree: true },
      { a: '0', b: 'O', agree: false },
      { a: '583', b: '583', agree: true },
    ]);
  });

  test('adjacent edits merge into one differing stretch ("rn" against "m")', () => {
    assert.deepEqual(alignReadings('modern', 'modem'), [
      { a: 'mode', b: 'mode', agree: true },
      { a: 'rn', b: 'm', agree: false },
    ]);
  });

  test('a character only one side read is a stretch with an empty other side', () => {
    assert.deepEqual(alignReadings('due: $5', 'due:$5'), [
      { a: 'due:', b: 'due:', agree: true },
      { a: ' ', b: '', agree: false },
      { a: '$5', b: '$5', agree: true },
    ]);
  });

  test('one empty reading is a single differing segment', () => {
    assert.deepEqual(alignReadings('', 'abc'), [{ a: '', b: 'abc', agree: false }]);
    assert.deepEqual(alignReadings('', ''), []);
  });
});

describe('characterConfidences', () => {
  test('word confidences cover their characters, the line confidence the spaces', () => {
    assert.deepEqual(
      characterConfidences({ text: 'ab cd', confidence: 0.5, words: [{ text: 'ab', confidence: 0.9 }, { text: 'cd', confidence: 0.2 }] }),
      [0.9, 0.9, 0.5, 0.2, 0.2],
    );
  });

  test('without words every character has the line confidence', () => {
    assert.deepEqual(characterConfidences({ text: 'xyz', confidence: 0.7 }), [0.7, 0.7, 0.7]);
  });

  test('a repeated word is found after the previous one, not at its first occurrence', () => {
    assert.deepEqual(
      characterConfidences({ text: 'to to', confidence: 0.5, words: [{ text: 'to', confidence: 0.1 }, { text: 'to', confidence: 0.8 }] }),
      [0.1, 0.1, 0.5, 0.8, 0.8],
    );
  });
});

describe('voteLine', () => {
  test('agreeing readings are kept as they are, with no stretch from either side', () => {
    assert.deepEqual(voteLine({ text: 'Paid 12/09', confidence: 0.875 }, { text: 'Paid 12/09', confidence: 0.625 }), {
      text: 'Paid 12/09', confidence: 0.875, fromA: 0, fromB: 0,
    });
  });

  test('each differing stretch comes from the reading whose word there is more confident', () => {
    // a misreads the number (its word says so); b misreads the name.
    const a = { text: 'Invoice INV-O583', confidence: 0.8, words: [{ text: 'Invoice', confidence: 0.5 }, { text: 'INV-O583', confidence: 0.25 }] };
    const b = { text: 'Inv0ice INV-0583', confidence: 0.8, words: [{ text: 'Inv0ice', confidence: 0.375 }, { text: 'INV-0583', confidence: 0.75 }] };
    assert.deepEqual(voteLine(a, b), { text: 'Invoice INV-0583', confidence: (0.5 * 7 + 0.8 + 0.75 * 8) / 16, fromA: 1, fromB: 1 });
  });

  test('line confidences decide when no words are known', () => {
    assert.deepEqual(voteLine({ text: 'c1ean', confidence: 0.5 }, { text: 'clean', confidence: 0.75 }), {
      text: 'clean', confidence: 0.75, fromA: 0, fromB: 1,
    });
  });

  test('a space one reading dropped is restored when that reading is less sure around it', () => {
    const tesseract = { text: 'due: $5', confidence: 0.875 };
    const paddle = { text: 'due:$5', confidence: 0.75 };
    assert.deepEqual(voteLine(paddle, tesseract), { text: 'due: $5', confidence: 0.875, fromA: 0, fromB: 1 });
  });

  test('a stretch the confident side read as nothing is dropped, counted for that side', () => {
    assert.deepEqual(voteLine({ text: 'abc', confidence: 0.9 }, { text: 'ab~c', confidence: 0.25 }), {
      text: 'abc', confidence: 0.9, fromA: 1, fromB: 0,
    });
  });

  test('ties go to the first reading', () => {
    assert.equal(voteLine({ text: 'cat', confidence: 0.5 }, { text: 'cot', confidence: 0.5 }).text, 'cat');
    assert.equal(voteLine({ text: 'cot', confidence: 0.5 }, { text: 'cat', confidence: 0.5 }).text, 'cot');
  });

  test('spaces doubled by mixing stretches collapse, edges are trimmed', () => {
    // a: "x  y" cannot arise from engines, but stretches chosen from both sides can meet at spaces.
    const voted = voteLine({ text: 'ab cd', confidence: 0.9, words: [{ text: 'ab', confidence: 0.9 }, { text: 'cd', confidence: 0.1 }] },
      { text: 'ab  ef ', confidence: 0.6 });
    assert.equal(voted.text, 'ab ef');
  });

  test('with spacingFrom, a stretch differing only in spaces comes from that reading, whatever the confidences', () => {
    const tesseract = { text: 'Total due: $5', confidence: 0.5 };
    const paddle = { text: 'Totaldue:$5', confidence: 1 };
    assert.deepEqual(voteLine(tesseract, paddle, { spacingFrom: 'a' }), { text: 'Total due: $5', confidence: 12 / 13, fromA: 2, fromB: 0 });
    assert.deepEqual(voteLine(paddle, tesseract, { spacingFrom: 'b' }).text, 'Total due: $5');
    // Without it the confident reading's missing spaces win.
    assert.equal(voteLine(tesseract, paddle).text, 'Totaldue:$5');
  });

  test('with spacingFrom, characters voted from the other reading keep the spacing reading\'s spaces', () => {
    // Paddle is surer of the full stop but put a space before it; Tesseract's layout has none.
    const tesseract = { text: 'business days,', confidence: 0.5 };
    const paddle = { text: 'bu sin es s days .', confidence: 0.875 };
    // Kept: 13 agreeing characters at the higher 0.875 and paddle's '.'; the dropped spaces add none.
    assert.deepEqual(voteLine(tesseract, paddle, { spacingFrom: 'a' }), { text: 'business days.', confidence: 0.875, fromA: 3, fromB: 1 });
  });
});
