// Every public header compiles as C++11 (they carry extern "C" guards, so C++ callers are meant
// to use them), and so does a coroutine body written with the macros. Compiled, never run: the
// test is the compiler's verdict (tests/coro/CMakeLists.txt).
#include "weft.h"
#include "weft/addr.h"
#include "weft/blocking.h"
#include "weft/coro.h"
#include "weft/error.h"
#include "weft/group.h"
#include "weft/http.h"
#include "weft/poll.h"
#include "weft/runtime.h"
#include "weft/select.h"
#include "weft/signal.h"
#include "weft/sync.h"
#include "weft/tcp.h"
#include "weft/timer.h"
#include "weft/trace.h"
#include "weft/udp.h"
#include "weft/unix.h"

struct countdown {
    weft_co co;
    int n;
};

int countdown(struct countdown *f, weft_cx *cx);
int countdown(struct countdown *f, weft_cx *cx)
{
    (void)cx;
    WEFT_BEGIN(&f->co);
    for (f->n = 3; f->n > 0; f->n--)
        WEFT_YIELD(&f->co);
    WEFT_ON_CANCEL(&f->co);
    f->n = -1;
    WEFT_END(&f->co, weft_co_site_where() != nullptr ? 0 : 1);
}
