%%% What a multicast's recipient list costs ejabberd's stream parser (fxml_stream, expat), per stanza of 100 recipients:
%%% none, XEP-0033 addresses, Dmuc's compact list; "+ read" also takes the JIDs out as mod_dmuc_multicast does (without
%%% the stringprep its cache saves). Prints the best of 5 rounds of N stanzas (default 5000).
%%% Run: cd bench/recipient-lists && erlc -o /tmp fxml_lists.erl && ERL_LIBS=/usr/lib/x86_64-linux-gnu erl -noshell -pa /tmp -s fxml_lists run
-module(fxml_lists).
-export([run/0, run/1]).

run() -> run(["5000"]).
run([Count]) ->
    {ok, _} = application:ensure_all_started(fast_xml),
    N = list_to_integer(Count),
    Body = <<"<message from='room@conference.localhost/nick' type='groupchat' id='abc123' to='localhost'>"
             "<body>Hello world, a message of some length for the benchmark</body>"
             "<stanza-id xmlns='urn:xmpp:sid:0' id='0123456789' by='room@conference.localhost'/>">>,
    Jids = [iolist_to_binary(io_lib:format("user~b@localhost/res-abcdef~b", [I, I])) || I <- lists:seq(1, 100)],
    Addresses = iolist_to_binary([Body, "<addresses xmlns='http://jabber.org/protocol/address'>",
                                  [["<address type='bcc' jid='", Jid, "'/>"] || Jid <- Jids], "</addresses></message>"]),
    Compact = iolist_to_binary([Body, "<recipients xmlns='urn:xmpp:tmp:dmuc:multicast:0'>", lists:join(<<"\t">>, Jids),
                                "</recipients></message>"]),
    Cases = [{"no list", <<Body/binary, "</message>">>, false}, {"XEP-0033, 100 addresses", Addresses, false},
             {"XEP-0033 + read", Addresses, true}, {"compact, tabs", Compact, false}, {"compact, tabs + read", Compact, true}],
    [io:format("~-26s ~5b bytes ~8.1f us a stanza~n", [Name, byte_size(Stanza), lists:min([time(Stanza, Read, N) || _ <- lists:seq(1, 5)])])
     || {Name, Stanza, Read} <- Cases],
    halt().

time(Stanza, Read, N) ->
    Open = fxml_stream:parse(fxml_stream:new(self(), infinity, [no_gen_server]),
                             <<"<stream:stream xmlns='jabber:component:accept' xmlns:stream='http://etherx.jabber.org/streams'>">>),
    receive {xmlstreamstart, _, _} -> ok end,
    Chunk = binary:copy(Stanza, 50),
    Started = erlang:monotonic_time(microsecond),
    Stream = lists:foldl(fun(_, S) -> S1 = fxml_stream:parse(S, Chunk), take(50, Read), S1 end, Open, lists:seq(1, N div 50)),
    Elapsed = erlang:monotonic_time(microsecond) - Started,
    fxml_stream:close(Stream),
    Elapsed / N.

take(0, _) -> ok;
take(I, Read) ->
    receive {xmlstreamelement, {xmlel, _, _, Els}} when Read -> [jids(El) || El <- Els];
            {xmlstreamelement, _} -> ok
    after 1000 -> error(timeout) end,
    take(I - 1, Read).

jids({xmlel, <<"addresses">>, _, Addresses}) ->
    [fxml:get_attr_s(<<"jid">>, Attrs) || {xmlel, <<"address">>, Attrs, _} <- Addresses, fxml:get_attr_s(<<"type">>, Attrs) == <<"bcc">>];
jids({xmlel, <<"recipients">>, _, _} = List) -> binary:split(fxml:get_tag_cdata(List), <<"\t">>, [global]);
jids(_) -> [].
