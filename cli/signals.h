/* signals.h: how `charrnn` stops when asked. SIGINT, SIGTERM and SIGHUP are a
 * request to stop cleanly (training saves a checkpoint first); signals that
 * arrive within a second of the first are the same request (process managers
 * such as GNU timeout, systemd, Slurm and mpirun signal the process and then its
 * whole group). Only a request that comes later, after the "stopping" message,
 * quits at once. SIGUSR1 asks training for a checkpoint now. */
#ifndef CHARRNN_SIGNALS_H
#define CHARRNN_SIGNALS_H

/* Installs the handlers; what is printed on the first request: e.g. "stopping
 * after this iteration to save a checkpoint". with_usr1: also catch SIGUSR1. */
void sig_install(const char *stopping_what, int with_usr1);
/* on: a stop request also interrupts a blocking read (which then fails with
 * EINTR), for a command that waits on its input (sample --interactive); off
 * (the default): reads and writes carry on where they were. */
void sig_interrupt_waits(int on);
/* The signal of the first stop request, or 0. */
int sig_stop_requested(void);
/* 1 once after each SIGUSR1 (then cleared). */
int sig_take_checkpoint_request(void);
/* A temporary file to remove if the process quits at once (NULL: none). The
 * string is copied. */
void sig_set_cleanup(const char *path);
/* Training reads a large corpus through a memory mapping: if another program
 * truncates the file, the kernel sends SIGBUS. The handler lets the library
 * put zeros where the lost pages were (charrnn_corpus_fault), so the step ends
 * and the trainer reports the change (CHARRNN_EIO) with nothing of it used:
 * training then saves its work and stops with a message. A fault the library
 * cannot explain ends the process at once with a line naming path and the
 * run's last checkpoint (latest: NULL when there is none yet; kept up to date
 * with sig_guard_saved), never "Bus error". */
void sig_guard_mapped_file(const char *path, const char *latest, long iteration);
void sig_guard_saved(const char *latest, long iteration);
/* "SIGINT", "SIGTERM", ... */
const char *sig_name(int sig);

#endif
