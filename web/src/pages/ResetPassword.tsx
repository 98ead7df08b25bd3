// What the reset email's link opens: a new password for the token in it.
import { useState } from "preact/hooks";
import { post } from "../api";
import { Link } from "../router";
import { Failure } from "../ui";

export function ResetPassword() {
  const token = new URLSearchParams(location.search).get("token") ?? "";
  const [password, setPassword] = useState("");
  const [done, setDone] = useState(false);
  const [error, setError] = useState<unknown>(null);
  const submit = async (e: Event) => {
    e.preventDefault();
    setError(null);
    try {
      await post("/auth/password-reset/confirm", { token, new_password: password });
      setDone(true);
    } catch (err) {
      setError(err);
    }
  };
  return (
    <section class="narrow">
      <h1>Choose a new password</h1>
      {done ? (
        <p role="status">
          Your password is set and every earlier login has ended. <Link href="/login">Log in</Link>.
        </p>
      ) : (
        <form class="panel" onSubmit={submit}>
          <label>
            New password (8 characters or more)
            <input type="password" autoComplete="new-password" value={password} onInput={(e) => setPassword(e.currentTarget.value)} required />
          </label>
          <Failure error={error} />
          <button type="submit" class="primary">
            Set password
          </button>
        </form>
      )}
    </section>
  );
}
