%% How long ejabberd's fan-out process takes per stanza it fans out, read from a running ejabberd under load
%% (docs/benchmarks.md, "Issue 11: ejabberd behind Dmuc, where the time goes"). The process is mod_multicast
%% ("multicast", behind Dmuc), the one MUC room ("room", ejabberd's own MUC), or the Dmuc component's connection
%% process, where deploy/ejabberd's mod_dmuc_multicast fans out ("component": it also reads and parses the component
%% stream; its stanzas are the multicasts it fanned out, and it also prints the time spent in the module's fan-out
%% itself, erlang:trace_pattern's call_time: scheduled in, callees included, parsing not). For four seconds it is traced
%% (scheduled in and out, stanzas received); it prints the stanzas it received, the time it was scheduled in
%% (wall clock, so on a busy machine the operating system's preemption counts too), that time per stanza, and
%% its mailbox length and heap before and after.
%%
%% ejabberd must run distributed: the load tool passes ERL_AFLAGS on to the ejabberd it starts, e.g.
%%   ERL_AFLAGS="-sname ejp -setcookie probe" dmuc-loadtest room --occupants 100 --saturate --backend ejabberd-dmuc
%%   erlc fanout_probe.erl && erl -sname p -setcookie probe -noshell -run fanout_probe main ejp@$(hostname -s) multicast
-module(fanout_probe).
-export([main/1, tracer/0]).

main([NodeName, What]) ->
    Node = list_to_atom(NodeName),
    pong = net_adm:ping(Node),
    [Process | _] = [P || P <- rpc:call(Node, erlang, processes, []), is_fan_out(rpc:call(Node, erlang, process_info, [P, [registered_name, dictionary]]), What)],
    {_, Code, File} = code:get_object_code(?MODULE),
    {module, _} = rpc:call(Node, code, load_binary, [?MODULE, File, Code]),
    Tracer = spawn(Node, ?MODULE, tracer, []),
    Before = rpc:call(Node, erlang, process_info, [Process, [message_queue_len, total_heap_size]]),
    Multicasts = {mod_dmuc_multicast, multicast, 1},
    What == "component" andalso rpc:call(Node, erlang, trace_pattern, [Multicasts, true, [call_time]]),
    1 = rpc:call(Node, erlang, trace, [Process, true, ['receive', running, call, monotonic_timestamp, {tracer, Tracer}]]),
    timer:sleep(4000),
    rpc:call(Node, erlang, trace, [Process, false, ['receive', running, call]]),
    After = rpc:call(Node, erlang, process_info, [Process, [message_queue_len, total_heap_size]]),
    Tracer ! {report, self()},
    receive
        {Microseconds, Received} ->
            Stanzas = case What of
                          "component" ->
                              {call_time, Calls} = rpc:call(Node, erlang, trace_info, [Multicasts, call_time]),
                              rpc:call(Node, erlang, trace_pattern, [Multicasts, false, [call_time]]),
                              {Count, FanOut} = lists:foldl(fun({_, N, S, Us}, {C, T}) -> {C + N, T + S * 1000000 + Us} end, {0, 0}, Calls),
                              io:format("in mod_dmuc_multicast:multicast/1: ~w ms, ~.1f us per stanza~n", [FanOut div 1000, FanOut / max(1, Count)]),
                              Count;
                          _ -> Received
                      end,
            io:format("~s: ~w stanzas, scheduled in ~w ms of 4000, ~.1f us per stanza; before ~w, after ~w~n",
                      [What, Stanzas, Microseconds div 1000, Microseconds / max(1, Stanzas), Before, After])
    after 10000 -> io:format("no report from the tracer~n")
    end,
    halt().

is_fan_out([{registered_name, Name}, _], "multicast") when is_atom(Name) -> lists:prefix("mod_multicast", atom_to_list(Name));
is_fan_out([_, {dictionary, Dictionary}], "room") -> proplists:get_value('$initial_call', Dictionary) == {mod_muc_room, init, 1};
%% The module remembers the addresses it checked in the dictionary of the process that fans out.
is_fan_out([_, {dictionary, Dictionary}], "component") -> lists:any(fun({{mod_dmuc_multicast, _}, _}) -> true; (_) -> false end, Dictionary);
is_fan_out(_, _) -> false.

tracer() -> trace_loop(undefined, 0, 0).

%% Stanzas reach mod_multicast as {route, Packet}, a room (p1_fsm) as an event.
trace_loop(In, Microseconds, Stanzas) ->
    receive
        {trace_ts, _, in, _, Time} -> trace_loop(Time, Microseconds, Stanzas);
        {trace_ts, _, out, _, Time} when In =/= undefined -> trace_loop(undefined, Microseconds + (Time - In) div 1000, Stanzas);
        {trace_ts, _, 'receive', {route, _}, _} -> trace_loop(In, Microseconds, Stanzas + 1);
        {trace_ts, _, 'receive', {'$gen_event', _}, _} -> trace_loop(In, Microseconds, Stanzas + 1);
        {trace_ts, _, 'receive', {'$gen_all_state_event', _}, _} -> trace_loop(In, Microseconds, Stanzas + 1);
        {report, From} -> From ! {Microseconds, Stanzas};
        _ -> trace_loop(In, Microseconds, Stanzas)
    end.
