import { useEffect, useRef } from 'react';

/**
 * Scrolls a message into view and focuses it when `when` turns true: a save
 * button sits at the bottom of a long form, its answer at the top.
 */
export function useRevealed<T extends HTMLElement>(when: boolean) {
  const ref = useRef<T>(null);
  useEffect(() => {
    if (!when || !ref.current) return;
    ref.current.scrollIntoView({ block: 'start', behavior: 'smooth' });
    ref.current.focus({ preventScroll: true });
  }, [when]);
  return ref;
}

/** Room for the fixed header above a revealed message. */
export const REVEAL_MARGIN = { scrollMarginTop: 72 };
