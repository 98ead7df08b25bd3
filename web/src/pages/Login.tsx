// Log in, register, or ask for a reset link.
import { useState } from "preact/hooks";
import { post, session, type User } from "../api";
import { navigate } from "../router";
import { Failure } from "../ui";

interface Session {
  user: User;
  access_token: string;
}

export function Login() {
  const params = new URLSearchParams(location.search);
  const next = params.get("next") || "/";
  const [mode, setMode] = useState<"login" | "register" | "forgot">("login");
  const [email, setEmail] = useState("");
  const [password, setPassword] = useState("");
  const [name, setName] = useState("");
  const [error, setError] = useState<unknown>(null);
  const [sent, setSent] = useState("");

  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      if (mode === "forgot") {
        const r = await post<{ message: string }>("/auth/password-reset", { email });
        setSent(r.message);
        return;
      }
      const s =
        mode === "login"
          ? await post<Session>("/auth/login", { email, password })
          : await post<Session>("/auth/register", { email, password, name });
      session.save(s.access_token, s.user);
      navigate(next.startsWith("/") && !next.startsWith("//") ? next : "/");
    } catch (err) {
      setError(err);
    }
  };

  const title = mode === "login" ? "Log in" : mode === "register" ? "Create an account" : "Reset your password";
  return (
    <section class="narrow">
      <h1>{title}</h1>
      {params.get("changed") && <p class="note">Your password changed: log in with the new one.</p>}
      <form class="panel" onSubmit={submit}>
        {mode === "register" && (
          <label>
            Name
            <input value={name} autoComplete="name" onInput={(e) => setName(e.currentTarget.value)} required />
          </label>
        )}
        <label>
          Email
          <input type="email" value={email} autoComplete="email" onInput={(e) => setEmail(e.currentTarget.value)} required />
        </label>
        {mode !== "forgot" && (
          <label>
            Password
            <input
              type="password"
              value={password}
              autoComplete={mode === "login" ? "current-password" : "new-password"}
              onInput={(e) => setPassword(e.currentTarget.value)}
              required
            />
          </label>
        )}
        <Failure error={error} />
        {sent && (
          <p class="note" role="status">
            {sent}
          </p>
        )}
        <button type="submit" class="primary">
          {mode === "login" ? "Log in" : mode === "register" ? "Create account" : "Email me a reset link"}
        </button>
      </form>
      <p>
        {mode !== "login" && (
          <button type="button" class="linkish" onClick={() => setMode("login")}>
            I have an account
          </button>
        )}{" "}
        {mode !== "register" && (
          <button type="button" class="linkish" onClick={() => setMode("register")}>
            Create an account
          </button>
        )}{" "}
        {mode !== "forgot" && (
          <button type="button" class="linkish" onClick={() => setMode("forgot")}>
            Forgot your password?
          </button>
        )}
      </p>
    </section>
  );
}
