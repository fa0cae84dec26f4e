#include <stdio.h>
#include <editline/readline.h>

/* libedit's settings are C globals; Swift 6 refuses to touch a C global
   directly (shared mutable state), so they are set through these. The REPL
   calls them from the one thread that runs readline(). */
static inline void semcom_rl_set_completion(rl_compentry_func_t *f) { rl_completion_entry_function = f; }
static inline void semcom_rl_set_pre_input_hook(rl_hook_func_t *f) { rl_pre_input_hook = f; }
static inline void semcom_rl_set_done(void) { rl_done = 1; }
/* The line being edited and the cursor's byte offset in it, as libedit has
   them when it calls the completion function (rl_complete updates both
   first); and the character added after a single completion (0: none). */
static inline const char *semcom_rl_line_buffer(void) { return rl_line_buffer; }
static inline int semcom_rl_point(void) { return rl_point; }
static inline void semcom_rl_set_completion_append_character(int c) { rl_completion_append_character = c; }
/* fflush(stdout) for Swift, which may not name the C global; fflush(NULL) would
   also lock stdin's stream, held by a thread blocked reading it. */
static inline void semcom_flush_stdout(void) { fflush(stdout); }
