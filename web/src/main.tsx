import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import { session, type User } from "./api";
import { Link, match, navigate, usePath } from "./router";
import { Catalog } from "./pages/Catalog";
import { EventPage } from "./pages/EventPage";
import { OfferPage } from "./pages/OfferPage";
import { MyPage } from "./pages/MyPage";
import { BookingPage } from "./pages/BookingPage";
import { Login } from "./pages/Login";
import { ResetPassword } from "./pages/ResetPassword";
import { AdminHome, EventAdmin, EventNew, VenueDesigner } from "./pages/Admin";

function useUser(): User | null {
  const [user, setUser] = useState(session.user());
  useEffect(() => {
    const update = () => setUser(session.user());
    window.addEventListener("evently:session", update);
    return () => window.removeEventListener("evently:session", update);
  }, []);
  return user;
}

function Page({ path }: { path: string }) {
  let p: Record<string, string> | null;
  if (path.split("?")[0] === "/") return <Catalog />;
  if ((p = match("/events/:id", path))) return <EventPage id={p.id} />;
  if ((p = match("/offers/:token", path))) return <OfferPage token={p.token} />;
  if ((p = match("/bookings/:id", path))) return <BookingPage id={p.id} />;
  if (match("/me", path)) return <MyPage />;
  if (match("/login", path)) return <Login />;
  if (match("/reset-password", path)) return <ResetPassword />;
  if (match("/admin", path)) return <AdminHome />;
  if (match("/admin/venues/new", path)) return <VenueDesigner key="new" />;
  if ((p = match("/admin/venues/:id", path))) return <VenueDesigner key={p.id} id={p.id} />;
  if (match("/admin/events/new", path)) return <EventNew />;
  if ((p = match("/admin/events/:id", path))) return <EventAdmin id={p.id} />;
  return (
    <section>
      <h1>Not found</h1>
      <p>
        Nothing lives at this address. <Link href="/">See what's on</Link>.
      </p>
    </section>
  );
}

function App() {
  const path = usePath();
  const user = useUser();
  useEffect(() => {
    const title = document.querySelector("main h1")?.textContent;
    document.title = title ? `${title} · Evently` : "Evently";
  });
  return (
    <>
      <header class="top">
        <Link href="/" class="brand">
          Evently
        </Link>
        <nav aria-label="Main">
          <Link href="/">What's on</Link>
          {user && <Link href="/me">My bookings</Link>}
          {user && user.role !== "customer" && <Link href="/admin">Organizer</Link>}
          {user ? (
            <button
              type="button"
              class="linkish"
              onClick={() => {
                session.clear();
                navigate("/");
              }}
            >
              Log out {user.name}
            </button>
          ) : (
            <Link href={`/login?next=${encodeURIComponent(path)}`}>Log in</Link>
          )}
        </nav>
      </header>
      <main>
        <Page path={path} />
      </main>
    </>
  );
}

render(<App />, document.getElementById("app")!);
