import type { ComponentChildren } from 'preact';
import { useCallback, useEffect, useRef, useState } from 'preact/hooks';

import { useFailureMessage } from '../../auth.tsx';
import { ApiError } from '../../api/client.ts';

/**
 * What the users, storage, events and audit sections share: running a change through the API
 * with its outcome as a sentence, and how sizes and times are written.
 */

export interface Outcome {
  readonly ok: boolean;
  readonly text: string;
}

/**
 * Runs one change at a time: `busy` while it runs, then `outcome` (the action's own sentence, or
 * the failure as `explain` words it for the codes it knows, else the API's detail). An expired
 * session goes back to sign-in (useFailureMessage).
 */
export function useAction(): {
  readonly busy: boolean;
  readonly outcome: Outcome | undefined;
  readonly run: (
    action: () => Promise<string>,
    explain?: (error: ApiError) => string | undefined,
  ) => Promise<boolean>;
  readonly clear: () => void;
} {
  const failureMessage = useFailureMessage();
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome | undefined>(undefined);
  const run = useCallback(
    async (action: () => Promise<string>, explain?: (error: ApiError) => string | undefined) => {
      setBusy(true);
      setOutcome(undefined);
      try {
        setOutcome({ ok: true, text: await action() });
        return true;
      } catch (error) {
        const known = error instanceof ApiError ? explain?.(error) : undefined;
        const text = known ?? failureMessage(error);
        if (text !== undefined) {
          setOutcome({ ok: false, text });
        }
        return false;
      } finally {
        setBusy(false);
      }
    },
    [failureMessage],
  );
  const clear = useCallback(() => setOutcome(undefined), []);
  return { busy, outcome, run, clear };
}

/**
 * The outcome of the last change, in two live regions that are always in the page (a screen reader
 * announces what appears in a region it already knows, not a region added with its text): a
 * success is a polite status, a failure an alert.
 */
export function OutcomeLine(props: { outcome: Outcome | undefined; id?: string }) {
  const { outcome } = props;
  return (
    <div class="outcome-region" id={props.id}>
      <div role="status">{outcome?.ok === true ? <p class="outcome ok">{outcome.text}</p> : null}</div>
      <div role="alert">{outcome?.ok === false ? <p class="outcome error">{outcome.text}</p> : null}</div>
    </div>
  );
}

const UNITS = ['bytes', 'KB', 'MB', 'GB', 'TB', 'PB'];

/** `1.5 GB` (powers of 1,024, as `df -h`; the unit names people read). */
export function formatBytes(bytes: number): string {
  let value = bytes;
  let unit = 0;
  while (Math.abs(value) >= 1024 && unit < UNITS.length - 1) {
    value /= 1024;
    unit++;
  }
  const digits = unit === 0 || value >= 100 ? 0 : value >= 10 ? 1 : 2;
  return `${value.toFixed(digits)} ${UNITS[unit] ?? ''}`;
}

/** A local date and time, to the second. */
export function formatTime(epochMs: number): string {
  return new Date(epochMs).toLocaleString(undefined, {
    year: 'numeric',
    month: 'short',
    day: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    second: '2-digit',
  });
}

/** The value of a `datetime-local` input as epoch ms, or undefined when empty or invalid. */
export function localInputToMs(value: string): number | undefined {
  if (value === '') {
    return undefined;
  }
  const ms = new Date(value).getTime();
  return Number.isNaN(ms) ? undefined : ms;
}

/**
 * A modal confirmation before something that cannot be undone. The native dialog keeps the focus
 * in it, closes on Escape (a cancel) and gives the focus back to what opened it.
 */
export function ConfirmDialog(props: {
  readonly open: boolean;
  readonly id: string;
  readonly title: string;
  readonly children: ComponentChildren;
  readonly confirmLabel: string;
  readonly onConfirm: () => void;
  readonly onCancel: () => void;
}) {
  const dialog = useRef<HTMLDialogElement>(null);
  useEffect(() => {
    const element = dialog.current;
    if (element === null) {
      return;
    }
    if (props.open && !element.open) {
      element.showModal();
    } else if (!props.open && element.open) {
      element.close();
    }
  }, [props.open]);
  return (
    <dialog
      ref={dialog}
      class="confirm"
      aria-labelledby={`${props.id}-title`}
      aria-describedby={`${props.id}-text`}
      onClose={props.onCancel}
    >
      <h2 id={`${props.id}-title`}>{props.title}</h2>
      <div id={`${props.id}-text`}>{props.children}</div>
      <div class="inline-controls">
        <button type="button" class="danger" onClick={props.onConfirm}>
          {props.confirmLabel}
        </button>
        <button type="button" onClick={props.onCancel} autofocus>
          Cancel
        </button>
      </div>
    </dialog>
  );
}

/**
 * A table that scrolls sideways on a narrow window. A scrollable region must be reachable by the
 * keyboard (to scroll it with the arrows), so it is focusable and named.
 */
export function ScrollTable(props: { readonly label: string; readonly children: ComponentChildren }) {
  return (
    <div class="table-scroll" role="region" aria-label={props.label} tabIndex={0}>
      {props.children}
    </div>
  );
}
