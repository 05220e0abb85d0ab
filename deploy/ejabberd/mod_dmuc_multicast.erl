%%% mod_dmuc_multicast: an XEP-0033 multicast service on an ejabberd host, for the Dmuc MUC component.
%%%
%%% Dmuc sends a room's broadcast once, to this host, with the recipients as <address type='bcc'/>; this module hands
%%% one copy to each recipient through ejabberd's normal routing, as mod_muc_room does for its occupants. It is the
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
disco_features(empty, _From, _To, <<"">>, _Lang) -> {result, [?NS_ADDRESS, ?NS_IN_ORDER]};
disco_features({result, Features}, _From, _To, <<"">>, _Lang) -> {result, [?NS_ADDRESS, ?NS_IN_ORDER | Features]};
disco_features(Acc, _From, _To, _Node, _Lang) -> Acc.

%%--------------------------------------------------------------------
%% The fan-out
%%--------------------------------------------------------------------
-spec multicast(stanza()) -> ok | stop.
multicast(Pkt) ->
    case take_addresses(xmpp:get_els(Pkt)) of
        none ->
            ok; % not for us: an ordinary stanza to the host
        {Addresses, Payload} ->
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
                    case recipients(Host, Addresses, Opts, Lang) of
                        {ok, Recipients} ->
                            %% No recipient learns who else received the stanza: the whole address block goes, not
                            %% only the bcc addresses. Like mod_muc_room, one stanza is re-addressed for each; each
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

%% The children of the first address block, and the stanza's children without any address block; none without one.
take_addresses(Els) ->
    case lists:partition(fun is_address_block/1, Els) of
        {[], _} -> none;
        {[#xmlel{children = Addresses} | _], Payload} -> {Addresses, Payload}
    end.

is_address_block(#xmlel{name = <<"addresses">>, attrs = Attrs}) ->
    fxml:get_attr_s(<<"xmlns">>, Attrs) == ?NS_ADDRESS;
is_address_block(_) ->
    false.

%% An error is never answered with an error (RFC 6120 §8.3.1): route_error drops those.
refuse(Pkt, Err) ->
    ejabberd_router:route_error(Pkt, Err).

%% The recipients, or the reason to refuse the whole stanza: it is delivered to all or to none (XEP-0033 §4).
%% A room sends every broadcast to the same occupants, so each address is checked (jid:decode's stringprep is most of
%% the cost) once per component connection, not once per broadcast: the addresses that passed are kept in the
%% process dictionary of the process that routes, the component's, which lives as long as its stream. A refused
%% address is checked again every time.
recipients(Host, Addresses, Opts, Lang) ->
    Key = {?MODULE, Host},
    Known = case get(Key) of undefined -> #{}; Map -> Map end,
    Limit = {gen_mod:get_opt(max_addresses, Opts), gen_mod:get_opt(address_cache, Opts)},
    case collect(Addresses, Host, Limit, Lang, Known, [], 0) of
        {ok, Recipients, Known} ->
            {ok, Recipients};
        {ok, Recipients, Known1} ->
            put(Key, Known1),
            {ok, Recipients};
        {error, _} = Refusal ->
            Refusal
    end.

collect([], _Host, _Limit, _Lang, Known, Recipients, _Count) ->
    {ok, lists:reverse(Recipients), Known};
collect([#xmlel{name = <<"address">>, attrs = Attrs} | Rest], Host, {Max, _} = Limit, Lang, Known, Recipients, Count) ->
    case is_delivered_here(Attrs) of
        false ->
            collect(Rest, Host, Limit, Lang, Known, Recipients, Count);
        true when Count >= Max ->
            {error, xmpp:err_not_acceptable(<<"At most ", (integer_to_binary(Max))/binary, " addresses">>, Lang)};
        true ->
            case recipient(Attrs, Host, Limit, Lang, Known) of
                {ok, To, Known1} -> collect(Rest, Host, Limit, Lang, Known1, [To | Recipients], Count + 1);
                {error, _} = Refusal -> Refusal
            end
    end;
collect([_ | Rest], Host, Limit, Lang, Known, Recipients, Count) ->
    collect(Rest, Host, Limit, Lang, Known, Recipients, Count).

%% Addresses already delivered (by an earlier hop) and types other than to/cc/bcc (replyto, noreply…) get no copy.
is_delivered_here(Attrs) ->
    fxml:get_attr_s(<<"delivered">>, Attrs) /= <<"true">>
        andalso lists:member(fxml:get_attr_s(<<"type">>, Attrs), [<<"to">>, <<"cc">>, <<"bcc">>]).

recipient(Attrs, Host, {_, CacheSize}, Lang, Known) ->
    case {fxml:get_attr(<<"jid">>, Attrs), fxml:get_attr(<<"uri">>, Attrs)} of
        {{value, Jid}, false} ->
            case Known of
                #{Jid := To} -> {ok, To, Known};
                _ -> check(Jid, Host, CacheSize, Lang, Known)
            end;
        _ ->
            {error, xmpp:err_jid_malformed(<<"Only 'jid' addresses are delivered here">>, Lang)}
    end.

check(Jid, Host, CacheSize, Lang, Known) ->
    try jid:decode(Jid) of
        #jid{luser = User, lserver = Host} = To when User /= <<"">> ->
            {ok, To, remember(Jid, To, CacheSize, Known)};
        _ ->
            {error, xmpp:err_forbidden(<<"This service reaches users of ", Host/binary, " only">>, Lang)}
    catch _:_ ->
            {error, xmpp:err_jid_malformed(<<"Not a JID: ", Jid/binary>>, Lang)}
    end.

%% Full: start over rather than keep an LRU order per lookup; a room's occupants come back on its next broadcast.
remember(_Jid, _To, 0, Known) -> Known;
remember(Jid, To, CacheSize, Known) when map_size(Known) >= CacheSize -> #{Jid => To};
remember(Jid, To, _CacheSize, Known) -> Known#{Jid => To}.
