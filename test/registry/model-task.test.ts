/**
 * The task of a hub snapshot, from its model card and config.json: the rules on
 * their own, then the local scan and the remote scan's shell script (run by the
 * real sh on the same directories) agreeing on every fixture.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { pipelineTagOf, taskOf } from '../../src/registry/model-task.js';
import { parseRemoteScan, remoteScanScript, scanHubSnapshots } from '../../src/registry/snapshot-scan.js';
import { writeHfCacheSnapshot, writeTinyBert, writeTinyGpt2 } from '../fixtures/transformers/index.js';

describe('taskOf', () => {
  test('a pipeline tag Corral serves wins over the architecture; one it does not serve is null', () => {
    assert.equal(taskOf({ pipelineTag: 'sentence-similarity', architecture: 'BertForMaskedLM' }), 'feature-extraction');
    assert.equal(taskOf({ pipelineTag: 'text-generation', architecture: 'BertModel' }), 'text-generation');
    assert.equal(taskOf({ pipelineTag: 'zero-shot-classification' }), 'zero-shot-classification');
    assert.equal(taskOf({ pipelineTag: 'fill-mask', architecture: 'BertModel' }), null);
    assert.equal(taskOf({ pipelineTag: 'automatic-speech-recognition', architecture: 'WhisperForConditionalGeneration' }), null);
  });

  test('without a tag, by architecture: heads, the bare encoder, and NLI labels', () => {
    const cases: Array<[string, boolean, string | null]> = [
      ['BertForSequenceClassification', false, 'text-classification'],
      ['DebertaV2ForSequenceClassification', true, 'zero-shot-classification'],
      ['XLMRobertaForTokenClassification', false, 'token-classification'],
      ['LlamaForCausalLM', false, 'text-generation'],
      ['GPT2LMHeadModel', false, 'text-generation'],
      ['MPNetModel', false, 'feature-extraction'],
      ['BertForMaskedLM', false, null],
      ['T5ForConditionalGeneration', false, null],
      ['', false, null],
    ];
    for (const [architecture, nliLabels, task] of cases) assert.equal(taskOf({ architecture, nliLabels }), task, architecture);
    assert.equal(taskOf({}), null);
  });

  test('pipelineTagOf reads the front matter line, quoted or not', () => {
    assert.equal(pipelineTagOf('---\nlicense: mit\npipeline_tag: text-generation\n---\n# Model'), 'text-generation');
    assert.equal(pipelineTagOf('---\npipeline_tag: "sentence-similarity"\n---'), 'sentence-similarity');
    assert.equal(pipelineTagOf("---\npipeline_tag: 'fill-mask'\n---"), 'fill-mask');
    assert.equal(pipelineTagOf('# A model\nIts pipeline_tag: text-generation is in prose'), undefined);
  });
});

describe('the local scan and the remote scan script agree', () => {
  let root: string;
  let cache: string;
  before(() => {
    root = mkdtempSync(join(tmpdir(), 'corral-model-task-'));
    cache = join(root, 'cache');
    for (const task of ['feature-extraction', 'text-classification', 'token-classification', 'zero-shot-classification'] as const) {
      writeHfCacheSnapshot(cache, `tiny/${task}`, 'c1', writeTinyBert(join(root, task), { task }));
    }
    writeHfCacheSnapshot(cache, 'tiny/gpt2', 'c2', writeTinyGpt2(join(root, 'gpt2')));
    // A model card that says what its architecture does not: the card wins.
    const carded = join(root, 'carded');
    writeTinyBert(carded, { task: 'feature-extraction' });
    writeFileSync(join(carded, 'README.md'), '---\nlanguage: en\npipeline_tag: "text-classification"\n---\n# Carded\n');
    writeHfCacheSnapshot(cache, 'tiny/carded', 'c3', carded);
    // No config.json and no card; a config.json cut short (read like the remote grep reads it).
    const bare = join(root, 'bare');
    mkdirSync(bare, { recursive: true });
    writeFileSync(join(bare, 'weights.bin'), 'x');
    writeHfCacheSnapshot(cache, 'tiny/bare', 'c4', bare);
    const broken = join(root, 'broken');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'config.json'), '{"architectures": ["GPT2LMHeadModel"');
    writeHfCacheSnapshot(cache, 'tiny/broken', 'c5', broken);
  });
  after(() => rmSync(root, { recursive: true, force: true }));

  const EXPECTED = [
    ['tiny/bare', null],
    ['tiny/broken', 'text-generation'],
    ['tiny/carded', 'text-classification'],
    ['tiny/feature-extraction', 'feature-extraction'],
    ['tiny/gpt2', 'text-generation'],
    ['tiny/text-classification', 'text-classification'],
    ['tiny/token-classification', 'token-classification'],
    ['tiny/zero-shot-classification', 'zero-shot-classification'],
  ];

  test('scanHubSnapshots reads each task', () => {
    const found = scanHubSnapshots(cache).map((s) => [s.model, s.task]).sort();
    assert.deepEqual(found, EXPECTED);
  });

  test('the remote script, run by sh, prints what parseRemoteScan reads as the same tasks, and nothing on stderr', () => {
    const run = spawnSync('sh', ['-c', remoteScanScript([cache])]);
    assert.equal(run.status, 0);
    assert.equal(run.stderr.toString(), '');
    const output = run.stdout;
    const found = parseRemoteScan(output.toString()).map((s) => [s.model, s.task]).sort();
    assert.deepEqual(found, EXPECTED);
    // The line of a snapshot: path, bytes, architecture, pipeline tag, NLI flag.
    const line = output.toString().split('\n').find((l) => l.includes('models--tiny--zero-shot-classification'))!;
    assert.deepEqual(line.split('\t').slice(2), ['BertForSequenceClassification', '', '1']);
  });

  test('a line from an older scan (path and bytes only) still parses, with no task', () => {
    assert.deepEqual(parseRemoteScan('/c/models--org--m/snapshots/r1\t1234\n'), [{ model: 'org/m', revision: 'r1', path: '/c/models--org--m/snapshots/r1', sizeBytes: 1234, task: null }]);
  });
});
