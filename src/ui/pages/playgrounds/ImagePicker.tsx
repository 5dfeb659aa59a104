import { useState } from 'preact/hooks';
import './ImagePicker.css';

export interface PickedImage { file: File; /** A data: URL: the UI's CSP allows data: images, not blob: ones. */ url: string }

/**
 * A labelled file input (keyboard usable as it is) that also takes an image
 * dropped on it, and reads the file as a data: URL for the preview.
 */
export function ImagePicker({ id, label, onPick, disabled }: { id: string; label: string; onPick: (image: PickedImage) => void; disabled?: boolean }) {
  const [dragging, setDragging] = useState(false);
  const take = (file: File | null | undefined) => {
    if (!file) return;
    const reader = new FileReader();
    reader.onload = () => onPick({ file, url: String(reader.result) });
    reader.readAsDataURL(file);
  };
  return (
    <div class={`image-picker${dragging ? ' dragging' : ''}`}
      onDragOver={(e) => { e.preventDefault(); setDragging(true); }}
      onDragLeave={() => setDragging(false)}
      onDrop={(e) => { e.preventDefault(); setDragging(false); if (!disabled) take(e.dataTransfer?.files[0]); }}>
      <label for={id}>{label}</label>
      <input id={id} type="file" accept="image/*" disabled={disabled} aria-describedby={`${id}-hint`}
        onChange={(e) => take((e.currentTarget as HTMLInputElement).files?.[0])} />
      <small id={`${id}-hint`} class="muted">PNG, JPEG or WebP, chosen here or dropped on this box.</small>
    </div>
  );
}
