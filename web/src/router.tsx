// A small history router: paths a person can bookmark and share.
import { useEffect, useState } from "preact/hooks";
import type { ComponentChildren } from "preact";

export function navigate(to: string) {
  history.pushState(null, "", to);
  window.dispatchEvent(new Event("evently:navigate"));
  window.scrollTo(0, 0);
}

export function usePath(): string {
  const [path, setPath] = useState(location.pathname + location.search);
  useEffect(() => {
    const update = () => setPath(location.pathname + location.search);
    window.addEventListener("popstate", update);
    window.addEventListener("evently:navigate", update);
    return () => {
      window.removeEventListener("popstate", update);
      window.removeEventListener("evently:navigate", update);
    };
  }, []);
  return path;
}

/** An in-app link: a real <a href> (open in a new tab works), followed
 * without a page load. */
export function Link(props: { href: string; class?: string; label?: string; children: ComponentChildren }) {
  return (
    <a
      href={props.href}
      class={props.class}
      aria-label={props.label}
      onClick={(e) => {
        if (e.metaKey || e.ctrlKey || e.shiftKey || e.button !== 0) return;
        e.preventDefault();
        navigate(props.href);
      }}
    >
      {props.children}
    </a>
  );
}

/** `pattern` like "/events/:id" against `path`: the parameters, or null. */
export function match(pattern: string, path: string): Record<string, string> | null {
  const want = pattern.split("/");
  const got = path.split("?")[0].split("/");
  if (want.length !== got.length) return null;
  const params: Record<string, string> = {};
  for (let i = 0; i < want.length; i++) {
    if (want[i].startsWith(":")) params[want[i].slice(1)] = decodeURIComponent(got[i]);
    else if (want[i] !== got[i]) return null;
  }
  return params;
}
