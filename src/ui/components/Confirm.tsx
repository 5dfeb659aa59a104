import { useRef, useState } from 'preact/hooks';

interface Request {
  title: string;
  message: string;
  confirm: string;
  resolve: (ok: boolean) => void;
}

/**
 * A native <dialog> confirmation (focus trap, Escape to cancel, focus returns
 * to the button that opened it): `const [dialog, confirm] = useConfirm()`,
 * render `dialog`, then `if (await confirm({...}))`.
 */
export function useConfirm() {
  const ref = useRef<HTMLDialogElement>(null);
  const [request, setRequest] = useState<Request | null>(null);
  const opener = useRef<Element | null>(null);

  const ask = (r: Omit<Request, 'resolve'>) => new Promise<boolean>((resolve) => {
    opener.current = document.activeElement;
    setRequest({ ...r, resolve });
    // Opened after the render that fills it in.
    setTimeout(() => ref.current?.showModal(), 0);
  });

  const close = (ok: boolean) => {
    ref.current?.close();
    request?.resolve(ok);
    setRequest(null);
    (opener.current as HTMLElement | null)?.focus?.();
  };

  const dialog = (
    <dialog ref={ref} aria-labelledby="confirm-title" onCancel={(e) => { e.preventDefault(); close(false); }}>
      {request && (
        <form method="dialog" onSubmit={(e) => { e.preventDefault(); close(true); }}>
          <h2 id="confirm-title">{request.title}</h2>
          <p>{request.message}</p>
          <div class="dialog-actions">
            <button type="button" class="secondary" onClick={() => close(false)} autofocus>Cancel</button>
            <button type="submit" class="danger">{request.confirm}</button>
          </div>
        </form>
      )}
    </dialog>
  );
  return [dialog, ask] as const;
}
