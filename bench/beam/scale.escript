#!/usr/bin/env escript
%% The `scale` benchmark's workload on the BEAM, for `bench/scale.ts`: Callers processes making
%% Calls sequential gen_server:call each to one of Servers echo servers (picked at random per
%% call), all started at once; prints calls_per_s=N. Run: escript scale.escript 10000 100 100
-mode(compile).
-export([init/1, handle_call/3, handle_cast/2]).

main([C, N, S]) ->
    Callers = list_to_integer(C),
    Calls = list_to_integer(N),
    Servers = list_to_integer(S),
    Pids = list_to_tuple([begin {ok, P} = gen_server:start(echo_server(), [], []), P end
                          || _ <- lists:seq(1, Servers)]),
    Runs = [run(Callers, Calls, Pids) || _ <- lists:seq(1, 3)],
    Median = lists:nth(2, lists:sort(Runs)),
    io:format("calls_per_s=~B~n", [round(Median)]).

run(Callers, Calls, Pids) ->
    Self = self(),
    T0 = erlang:monotonic_time(microsecond),
    [spawn(fun() -> caller(I, Calls, Pids), Self ! done end) || I <- lists:seq(1, Callers)],
    [receive done -> ok end || _ <- lists:seq(1, Callers)],
    T1 = erlang:monotonic_time(microsecond),
    Callers * Calls / ((T1 - T0) / 1.0e6).

caller(I, Calls, Pids) ->
    rand:seed(exsss, {I, I, I}),
    [gen_server:call(element(rand:uniform(tuple_size(Pids)), Pids), {ping, K}) || K <- lists:seq(1, Calls)],
    ok.

%% A module-less gen_server: the callback module is this escript's, compiled in.
echo_server() -> ?MODULE.

init([]) -> {ok, 0}.
handle_call({ping, K}, _From, S) -> {reply, K, S}.
handle_cast(_, S) -> {noreply, S}.
