import './LabelBars.css';

export interface Scored { label: string; score: number }

/**
 * Labels with their scores, best first: the label, a bar and the number, so a
 * score is read from text and never from the bar's length or colour alone.
 */
export function LabelBars({ items, label, format = (s) => s.toFixed(3) }: { items: Scored[]; label: string; format?: (score: number) => string }) {
  // Bars are relative to 1 for probabilities; raw scores (logits) are scaled to the largest.
  const top = Math.max(1, ...items.map((i) => Math.abs(i.score)));
  return (
    <ol class="label-bars" aria-label={label}>
      {items.map((item) => (
        <li key={item.label} data-label={item.label} data-score={item.score}>
          <span class="lb-label">{item.label}</span>
          <span class="lb-track" aria-hidden="true"><span class="lb-fill" style={{ width: `${Math.max(0, (item.score / top) * 100).toFixed(1)}%` }} /></span>
          <span class="lb-score">{format(item.score)}</span>
        </li>
      ))}
    </ol>
  );
}
