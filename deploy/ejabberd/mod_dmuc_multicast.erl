%%% mod_dmuc_multicast: an XEP-0033 multicast service on an ejabberd host, for the Dmuc MUC component.
%%%
%%% Dmuc sends a room's broadcast once, to this host, with the recipients as <address type='bcc'/> or, since the module
%%% announces it, as Dmuc's compact list (one text node of tab-separated JIDs); this module hands one copy to each recipient through ejabberd's normal routing, as mod_muc_room does for its occupants. It is the
%%% counterpart of deploy/prosody/mod_dmuc_multicast.lua; see README.md beside it for why it exists next to
%%% ejabberd's own mod_multicast and how to build and load it.
%%%
%%% Options (per host, under modules:):
%%%   senders: ["conference.example.org"]   component domains allowed to multicast (required)
%%%   max_addresses: 100                     more recipients than this: <not-acceptable/>
%%%   address_cache: 10000                   addresses whose check each component connection remembers

-module(mod_dmuc_multicast).
-behaviour(gen_mod).

-export([start/2, stop/1, reload/3, depends/2, mod_opt_type/1, mod_options/1, mod_doc/0]).
-export([multicast/1, disco_features/5]).

-include("xmpp.hrl").
-include("logger.hrl").

%% Dmuc's own feature: each copy is routed before the next stanza is read from the component stream, so what the
%% component multicasts and what it sends direct (IQ answers) reach a user in the order sent. Dmuc uses a multicast
%% service without it (ejabberd's mod_multicast, a process of its own) only when told to.
-define(NS_IN_ORDER, <<"urn:xmpp:tmp:dmuc:0#multicast-in-order">>).
%% Dmuc's own list (docs/protocol/multicast.md in Dmuc): <recipients xmlns='urn:xmpp:tmp:dmuc:multicast:0'> whose text is
%% the JIDs separated by tabs. fxml builds one binary for it where it built an element and its attribute list per
%% <address/> (~2.3 µs an address, measured in docs/benchmarks.md).
-define(NS_COMPACT, <<"urn:xmpp:tmp:dmuc:multicast:0">>).

%%--------------------------------------------------------------------
%% gen_mod
%%--------------------------------------------------------------------
start(Host, Opts) ->
    warn_if_no_senders(Host, Opts),
    %% A message or presence to the bare host reaches this hook from ejabberd_local, in the process that routed it:
    %% for the component, its own ejabberd_service process. So the fan-out needs no process of its own (mod_multicast's
    %% one process per host, whose mailbox was Dmuc's bottleneck), copies nothing into another mailbox, and keeps the
    %% component stream's order. Before ejabberd_local's bounce (100).
    ejabberd_hooks:add(local_send_to_resource_hook, Host, ?MODULE, multicast, 10),
    ejabberd_hooks:add(disco_local_features, Host, ?MODULE, disco_features, 50).

stop(Host) ->
    ejabberd_hooks:delete(local_send_to_resource_hook, Host, ?MODULE, multicast, 10),
    ejabberd_hooks:delete(disco_local_features, Host, ?MODULE, disco_features, 50).

reload(Host, NewOpts, _OldOpts) ->
    warn_if_no_senders(Host, NewOpts).

depends(_Host, _Opts) ->
    [{mod_disco, hard}].

mod_opt_type(senders) -> econf:list(econf:domain());
mod_opt_type(max_addresses) -> econf:pos_int();
mod_opt_type(address_cache) -> econf:non_neg_int().

mod_options(_Host) ->
    [{senders, []}, {max_addresses, 100}, {address_cache, 10000}].

mod_doc() ->
    #{desc => <<"XEP-0033 multicast for the Dmuc MUC component: see deploy/ejabberd/README.md in Dmuc.">>}.

warn_if_no_senders(Host, Opts) ->
    case gen_mod:get_opt(senders, Opts) of
        [] -> ?WARNING_MSG("mod_dmuc_multicast on ~ts: senders is empty: every multicast will be refused", [Host]);
        _ -> ok
    end.

%%--------------------------------------------------------------------
%% Disco: how Dmuc finds the service (on the host itself, at every connect)
%%--------------------------------------------------------------------
disco_features({error, _} = Acc, _From, _To, _Node, _Lang) -> Acc;
disco_features(empty, _From, _To, <<"">>, _Lang) -> {result, [?NS_ADDRESS, ?NS_IN_ORDER, ?NS_COMPACT]};
disco_features({result, Features}, _From, _To, <<"">>, _Lang) -> {result, [?NS_ADDRESS, ?NS_IN_ORDER, ?NS_COMPACT | Features]};
disco_features(Acc, _From, _To, _Node, _Lang) -> Acc.

%%--------------------------------------------------------------------
%% The fan-out
%%--------------------------------------------------------------------
-spec multicast(stanza()) -> ok | stop.
multicast(Pkt) ->
    case take_list(xmpp:get_els(Pkt)) of
        none ->
            ok; % not for us: an ordinary stanza to the host
        {List, Payload} ->
            #jid{lserver = Host} = xmpp:get_to(Pkt),
            #jid{lserver = FromHost} = xmpp:get_from(Pkt),
            Lang = xmpp:get_lang(Pkt),
            Opts = gen_mod:get_module_opts(Host, ?MODULE),
            %% ejabberd stamps 'from': a component may only send from its own domains (ejabberd_service's check_from),
            %% a user from its own JID, a remote server from its own domain. So the domain names the sender.
            case lists:member(FromHost, gen_mod:get_opt(senders, Opts)) of
                false ->
                    refuse(Pkt, xmpp:err_forbidden(<<"Only the MUC service may multicast through ", Host/binary>>, Lang));
                true ->
                    case recipients(Host, List, Opts, Lang) of
                        {ok, Recipients} ->
                            %% No recipient learns who else received the stanza: the whole list goes (every list),
                            %% not only the bcc addresses. Like mod_muc_room, one stanza is re-addressed for each; each
                            %% recipient is this host's user, for whom ejabberd_router would end in ejabberd_local's
                            %% ejabberd_sm:route, so the copy goes there straight: the router's filter_packet hook
                            %% (no module of ejabberd 23.01 uses it), IQ dispatch and route lookup were ~20 % of the
                            %% fan-out's time (docs/benchmarks.md). sm_receive_packet and the c2s hooks still run.
                            Copy = xmpp:set_els(Pkt, Payload),
                            lists:foreach(fun(To) -> ejabberd_sm:route(xmpp:set_to(Copy, To)) end, Recipients);
                        {error, Err} ->
                            refuse(Pkt, Err)
                    end
            end,
            stop
    end.

%% The stanza's recipient list ({addresses, the address block's children}, {compact, the list element}, or ambiguous:
%% two lists of either form, which must not be guessed between: a stanza whose first list came from its user and whose
%% second from the room would go where the user chose) and its children without any list; none without a list.
take_list(Els) ->
    case lists:partition(fun is_recipient_list/1, Els) of
        {[], _} -> none;
        {Lists, Payload} -> {list_of(Lists), Payload}
    end.

list_of([#xmlel{name = <<"recipients">>} = List]) -> {compact, List};
list_of([#xmlel{children = Addresses}]) -> {addresses, Addresses};
list_of([_, _ | _]) -> ambiguous.

is_recipient_list(#xmlel{name = <<"addresses">>, attrs = Attrs}) -> fxml:get_attr_s(<<"xmlns">>, Attrs) == ?NS_ADDRESS;
is_recipient_list(#xmlel{name = <<"recipients">>, attrs = Attrs}) -> fxml:get_attr_s(<<"xmlns">>, Attrs) == ?NS_COMPACT;
is_recipient_list(_) -> false.

%% An error is never answered with an error (RFC 6120 §8.3.1): route_error drops those.
refuse(Pkt, Err) ->
    ejabberd_router:route_error(Pkt, Err).

%% The recipients, or the reason to refuse the whole stanza: it is delivered to all or to none (XEP-0033 §4).
%% A room sends every broadcast to the same occupants, so each address is checked (jid:decode's stringprep is most of
%% the cost) once per component connection, not once per broadcast: the addresses that passed are kept in the
%% process dictionary of the process that routes, the component's, which lives as long as its stream. A refused
%% address is checked again every time.
recipients(_Host, ambiguous, _Opts, Lang) ->
    {error, xmpp:err_bad_request(<<"One recipient list a stanza: XEP-0033 addresses or one compact list">>, Lang)};
recipients(Host, List, Opts, Lang) ->
    Key = {?MODULE, Host},
    Known = case get(Key) of undefined -> #{}; Map -> Map end,
    Limit = {gen_mod:get_opt(max_addresses, Opts), gen_mod:get_opt(address_cache, Opts)},
    case collect(named(List), Host, Limit, Lang, Known, [], 0) of
        {ok, Recipients, Known} ->
            {ok, Recipients};
        {ok, Recipients, Known1} ->
            put(Key, Known1),
            {ok, Recipients};
        {error, _} = Refusal ->
            Refusal
    end.

%% What a list names, in its order: {jid, Jid}, or {malformed, Why}, refused when reached, so that the first problem in
%% the list decides the error. Addresses already delivered (by an earlier hop) and types other than to/cc/bcc (replyto,
%% noreply…) name no recipient. In a compact list every piece between tabs must be a JID (no control character is part
%% of one, RFC 7622), so an empty list, a doubled tab or one at either end names an empty JID, which jid:decode refuses.
named({addresses, Addresses}) ->
    [address_jid(Attrs) || #xmlel{name = <<"address">>, attrs = Attrs} <- Addresses, is_delivered_here(Attrs)];
named({compact, #xmlel{children = Children} = List}) ->
    case [El || #xmlel{} = El <- Children] of
        [] -> [{jid, Jid} || Jid <- binary:split(fxml:get_tag_cdata(List), <<"\t">>, [global])];
        _ -> [{malformed, <<"A recipient list holds JIDs separated by tabs, and no elements">>}]
    end.

address_jid(Attrs) ->
    case {fxml:get_attr(<<"jid">>, Attrs), fxml:get_attr(<<"uri">>, Attrs)} of
        {{value, Jid}, false} -> {jid, Jid};
        _ -> {malformed, <<"Only 'jid' addresses are delivered here">>}
    end.

is_delivered_here(Attrs) ->
    fxml:get_attr_s(<<"delivered">>, Attrs) /= <<"true">>
        andalso lists:member(fxml:get_attr_s(<<"type">>, Attrs), [<<"to">>, <<"cc">>, <<"bcc">>]).

collect([], _Host, _Limit, _Lang, Known, Recipients, _Count) ->
    {ok, lists:reverse(Recipients), Known};
collect([_ | _], _Host, {Max, _}, Lang, _Known, _Recipients, Count) when Count >= Max ->
    {error, xmpp:err_not_acceptable(<<"At most ", (integer_to_binary(Max))/binary, " addresses">>, Lang)};
collect([{malformed, Why} | _], _Host, _Limit, Lang, _Known, _Recipients, _Count) ->
    {error, xmpp:err_jid_malformed(Why, Lang)};
collect([{jid, Jid} | Rest], Host, Limit, Lang, Known, Recipients, Count) ->
    case recipient(Jid, Host, Limit, Lang, Known) of
        {ok, To, Known1} -> collect(Rest, Host, Limit, Lang, Known1, [To | Recipients], Count + 1);
        {error, _} = Refusal -> Refusal
    end.

recipient(Jid, Host, {_, CacheSize}, Lang, Known) ->
    case Known of
        #{Jid := To} -> {ok, To, Known};
        _ -> check(Jid, Host, CacheSize, Lang, Known)
    end.

%% The JID is copied first: one cut from a compact list is a sub-binary of the whole list's text, which the JID and the
%% key remembered would otherwise keep alive.
check(Jid, Host, CacheSize, Lang, Known) ->
    Own = binary:copy(Jid),
    try jid:decode(Own) of
        #jid{luser = User, lserver = Host} = To when User /= <<"">> ->
            {ok, To, remember(Own, To, CacheSize, Known)};
        _ ->
            {error, xmpp:err_forbidden(<<"This service reaches users of ", Host/binary, " only">>, Lang)}
    catch _:_ ->
            {error, xmpp:err_jid_malformed(<<"Not a JID: ", Jid/binary>>, Lang)}
    end.

%% Full: start over rather than keep an LRU order per lookup; a room's occupants come back on its next broadcast.
remember(_Jid, _To, 0, Known) -> Known;
remember(Jid, To, CacheSize, Known) when map_size(Known) >= CacheSize -> #{Jid => To};
remember(Jid, To, _CacheSize, Known) -> Known#{Jid => To}.
