// A modal on the native <dialog>: focus moves in, Escape closes, focus returns on close.

import type { ComponentChildren } from 'preact';
import { useEffect, useRef } from 'preact/hooks';

interface Props {
  title: string;
  onClose: () => void;
  children: ComponentChildren;
  wide?: boolean;
}

export function Dialog({ title, onClose, children, wide }: Props) {
  const ref = useRef<HTMLDialogElement>(null);
  const opener = useRef<HTMLElement | null>(null);

  // Close the modal before giving focus back: while it is open, everything outside it is inert.
  const restore = () => {
    ref.current?.close();
    opener.current?.focus?.();
  };
  const close = () => {
    restore();
    onClose();
  };

  useEffect(() => {
    opener.current = document.activeElement as HTMLElement | null;
    const d = ref.current;
    if (d && !d.open) d.showModal();
    // Start in the first field rather than on the close button.
    d?.querySelector<HTMLElement>('input:not([readonly]), select, textarea')?.focus();
    return restore;
  }, []);

  return (
    <dialog
      ref={ref}
      class={wide ? 'wide' : ''}
      aria-labelledby="dialog-title"
      onCancel={(e) => {
        e.preventDefault();
        close();
      }}
    >
      <header class="dialog-head">
        <h2 id="dialog-title">{title}</h2>
        <button type="button" class="icon-btn" aria-label="Close" onClick={close}>
          ×
        </button>
      </header>
      {children}
    </dialog>
  );
}
