// Package lab is a lab for the dialer's own measuring commands, cmd/bench and cmd/chaos:
// the built commands, a private redis-server, child processes, and the figures table.
//
// A command's main is lab.Main(name, run). Its run parses its flags, then
//
//   - Open finds the dialer's module, makes a temporary directory and builds cmd/dialer and
//     cmd/worker into it (Lab.Dialer, Lab.Worker), and Lab.Progress writes the command's
//     progress lines;
//   - StartRedis starts a redis-server of its own on a free loopback port, Volatile for
//     measures or Durable (and restartable) as production runs it; InfoField reads its INFO;
//   - Start runs a child process that dies with the command on Linux, and whose exit is
//     awaited in the background; Env is the environment of the built commands, and
//     ServeLoopback serves the in-process Interactly simulator on a loopback port;
//   - NewPool runs the built worker as a Pool of processes, logging to files or memory, that
//     may be killed one at a time, replaced when they exit by themselves, and stopped together;
//   - Campaign writes the campaign file its contacts are uploaded with, and WriteFile the
//     contact file;
//   - PrintFigures prints the results: a table of Figures (measure, figure, target, met?),
//     then a line on how each figure is measured.
//
// What is measured, and what is checked, stays in each command.
package lab
