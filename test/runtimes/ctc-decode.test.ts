import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { ctcAlphabet, fixConfusions, greedyDecode, spacedText, spacedWords, type CtcMatrix } from '../../src/runtimes/ocr/ctc-decode.js';

// A tiny recognizer: blank, the dictionary, then PaddleOCR's space class.
const alphabet = ctcAlphabet(['$', '.', '0', '1', '2', '5', 'O', 'S', 'l', 'o', 's', 'a', 'b']);
const id = (c: string) => (c === '' ? 0 : alphabet.indexOf(c));

/**
 * One step per entry: a character (or '' for blank) read with probability 0.9, or
 * [best, second, p2] where the second class gets p2 and the best gets 0.9 - p2.
 */
function matrix(steps: (string | [string, string, number])[]): CtcMatrix {
  const classes = alphabet.length;
  const probs = new Float32Array(steps.length * classes).fill(0.1 / (classes - 1));
  steps.forEach((step, t) => {
    const [best, second, p2] = typeof step === 'string' ? [step, undefined, 0] : step;
    probs[t * classes + id(best)] = 0.9 - p2;
    if (second !== undefined) probs[t * classes + id(second)] = p2;
  });
  return { probs, steps: steps.length, classes };
}

describe('greedyDecode', () => {
  test('merges repeats, drops blanks and keeps each character\'s steps', () => {
    const m = matrix(['', 'S', 'S', '', 'o', '', 'o', ' ', ' ', 'l']);
    const chars = greedyDecode(m, alphabet);
    assert.deepEqual(chars.map((c) => [c.char, c.start, c.end]), [['S', 1, 2], ['o', 4, 4], ['o', 6, 6], [' ', 7, 8], ['l', 9, 9]]);
    assert.ok(Math.abs(chars[0]!.confidence - 0.9) < 1e-6);
  });

  test('an all-blank line decodes to nothing', () => {
    assert.deepEqual(greedyDecode(matrix(['', '', '']), alphabet), []);
  });
});

describe('spacedWords', () => {
  const chars = greedyDecode(matrix(['O', '', 's', '', 'l', '', 'o', '', '', '', '', '', 'a', '', 'b', '.']), alphabet);

  test('puts a space where a blank stretch of the image lies between two characters', () => {
    // Centres: O 0.5, s 2.5, l 4.5, o 6.5, a 12.5, b 14.5, . 15.5
    assert.equal(spacedText(chars, { spaceCentres: [9] }), 'Oslo ab.');
    assert.equal(spacedText(chars, { spaceCentres: [9, 13.5] }), 'Oslo a b.');
    assert.equal(spacedText(chars, { spaceCentres: [] }), 'Osloab.');
    // A blank stretch before the first or after the last character is no space.
    assert.equal(spacedText(chars, { spaceCentres: [0.2, 20] }), 'Osloab.');
    // Once per gap, however many blank stretches lie in it.
    assert.equal(spacedText(chars, { spaceCentres: [8, 10] }), 'Oslo ab.');
  });

  test('without an ink profile, a step gap far above the line\'s median is a space', () => {
    // Step gaps 2, 2, 2, 6, 2, 1: median 2.
    assert.equal(spacedText(chars), 'Oslo ab.');
    assert.equal(spacedText(chars, { gapRatio: 3 }), 'Osloab.');
  });

  test('no positional space before closing punctuation, after $ or inside a number', () => {
    // A blank stretch between b and '.' (a monospace full stop sits mid-cell).
    assert.equal(spacedText(chars, { spaceCentres: [9, 15] }), 'Oslo ab.');
    const number = greedyDecode(matrix(['$', '', '1', '', '.', '', '5', '', '0']), alphabet);
    assert.equal(spacedText(number, { spaceCentres: [1.5, 3.5, 5.5] }), '$1.50');
    // Between words the same stretch is a space.
    const words = greedyDecode(matrix(['s', '', 'o', '.', '', 'a']), alphabet);
    assert.equal(spacedText(words, { spaceCentres: [4.5] }), 'so. a');
  });

  test('keeps the spaces the recognizer emitted, collapsed, never at the ends', () => {
    const m = matrix([' ', 'a', ' ', '', ' ', 'b', 'a', ' ']);
    assert.equal(spacedText(greedyDecode(m, alphabet), { spaceCentres: [] }), 'a ba');
  });

  test('words carry their steps and mean confidence', () => {
    const words = spacedWords(chars, { spaceCentres: [9] });
    assert.deepEqual(words.map((w) => [w.text, w.start, w.end]), [['Oslo', 0, 6], ['ab.', 12, 15]]);
    assert.ok(words.every((w) => Math.abs(w.confidence - 0.9) < 1e-6));
  });
});

describe('fixConfusions', () => {
  const read = (steps: (string | [string, string, number])[]) => {
    const m = matrix(steps);
    return spacedText(fixConfusions(greedyDecode(m, alphabet), m, alphabet), { spaceCentres: [] });
  };

  test('a letter in an otherwise numeric token becomes its close-second digit', () => {
    assert.equal(read(['$', ['l', '1', 0.3], '2', '.', '5', '0']), '$12.50');
    assert.equal(read([['S', '5', 0.2], '0']), '50');
  });

  test('a digit in an otherwise alphabetic word becomes its close-second letter', () => {
    assert.equal(read([['0', 'O', 0.3], 's', 'l', 'o']), 'Oslo');
    // Lower case partner when that is the one the recognizer considered.
    assert.equal(read(['b', ['0', 'o', 0.2], 'a']), 'boa');
  });

  test('a partner the recognizer barely considered does not win', () => {
    assert.equal(read(['$', ['l', '1', 0.05], '2', '.', '5', '0']), '$l2.50');
    assert.equal(read([['0', 'O', 0.04], 's', 'l', 'o']), '0slo');
  });

  test('correct readings and mixed tokens are left alone', () => {
    // Right type for its context: nothing to fix, however close the partner.
    assert.equal(read(['$', ['1', 'l', 0.4], '2']), '$12');
    assert.equal(read([['O', '0', 0.4], 's', 'l', 'o']), 'Oslo');
    // Letters and digits in the same run: no context to go by.
    assert.equal(read(['a', ['l', '1', 0.4], '2']), 'al2');
  });

  test('a lone character looks at its whole token (runs split at punctuation)', () => {
    assert.equal(read(['5', '0', '.', ['l', '1', 0.3]]), '50.1');
    assert.equal(read(['s', 'o', '.', ['0', 'O', 0.3]]), 'so.O');
  });
});
