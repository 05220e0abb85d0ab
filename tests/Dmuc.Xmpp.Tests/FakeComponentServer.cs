using System.Net;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Xmpp.Tests;

/// <summary>The server end of a component stream, for one client: checks the handshake like Prosody would.</summary>
internal sealed class FakeComponentServer : IDisposable
{
    public const string Domain = "muc.localhost";
    public const string Secret = "s3cret";
    public const string StreamId = "fake-stream-42";

    private readonly TcpListener _listener = new(IPAddress.Loopback, 0);
    private readonly RecordingHandler _received = new();
    private readonly XmppStreamParser _parser;
    private readonly byte[] _buffer = new byte[64 * 1024];
    private TcpClient? _client;
    private NetworkStream? _stream;
    private bool _handshakeDone;

    public FakeComponentServer()
    {
        _parser = new XmppStreamParser(_received, 16 * 1024 * 1024);
        // A fixed receive buffer (inherited by the accepted socket) turns off the kernel's autotuning, which on a host
        // with a large tcp_rmem would swallow the megabytes the backlog tests expect to stay queued in the client.
        _listener.Server.ReceiveBufferSize = 64 * 1024;
        _listener.Start();
    }

    public ComponentConnectionOptions Options(string secret = Secret, TimeSpan? keepalive = null) => new()
    {
        Host = "127.0.0.1",
        Port = ((IPEndPoint)_listener.LocalEndpoint).Port,
        Domain = Domain,
        Secret = secret,
        KeepaliveInterval = keepalive ?? TimeSpan.FromSeconds(60),
        HandshakeTimeout = TimeSpan.FromSeconds(10),
    };

    public List<XElement> Received => _received.Elements;
    public bool ClientClosedStream => _received.Ended;

    /// <summary>Every byte the client sent after its handshake.</summary>
    public MemoryStream RawAfterHandshake { get; } = new();

    /// <summary>Accepts the client and answers its handshake; false if the secret was wrong (a stream error was sent).</summary>
    public async Task<bool> AcceptAsync()
    {
        _client = await _listener.AcceptTcpClientAsync();
        _stream = _client.GetStream();
        while (_received.Header is null) await ReadAsync();
        if (_received.Header.To != Domain || _received.Header.DefaultNamespace != "jabber:component:accept")
        {
            throw new InvalidOperationException($"unexpected header {_received.Header}");
        }
        await SendAsync("<?xml version='1.0'?><stream:stream xmlns:stream='http://etherx.jabber.org/streams' " +
                        $"xmlns='jabber:component:accept' from='{Domain}' id='{StreamId}'>");
        while (Received.Count == 0) await ReadAsync();
        var handshake = Received[0];
        Received.Clear();
        var expected = Convert.ToHexStringLower(SHA1.HashData(Encoding.UTF8.GetBytes(StreamId + Secret)));
        if (handshake.Name != Ns.Client + "handshake" || handshake.Value != expected)
        {
            await SendAsync("<stream:error><not-authorized xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error></stream:stream>");
            return false;
        }
        _handshakeDone = true;
        await SendAsync("<handshake/>");
        return true;
    }

    public async Task SendAsync(string xml) => await SendAsync(Encoding.UTF8.GetBytes(xml));

    public async Task SendAsync(byte[] bytes)
    {
        await _stream!.WriteAsync(bytes);
        await _stream.FlushAsync();
    }

    /// <summary>Sends in pieces split anywhere, including inside multi-byte characters, with pauses between them.</summary>
    public async Task SendInChunksAsync(string xml, int[] chunkSizes)
    {
        var bytes = Encoding.UTF8.GetBytes(xml);
        for (int position = 0, i = 0; position < bytes.Length; i++)
        {
            var size = Math.Min(chunkSizes[i % chunkSizes.Length], bytes.Length - position);
            await SendAsync(bytes[position..(position + size)]);
            position += size;
            await Task.Delay(1);
        }
    }

    /// <summary>Reads until <paramref name="done"/> holds; false if the client closed the connection first.</summary>
    public async Task<bool> ReadUntilAsync(Func<bool> done)
    {
        while (!done())
        {
            if (!await ReadAsync()) return false;
        }
        return true;
    }

    /// <summary>Reads until the client closes the TCP connection.</summary>
    public async Task ReadToEndAsync()
    {
        while (await ReadAsync())
        {
        }
    }

    private async Task<bool> ReadAsync()
    {
        var read = await _stream!.ReadAsync(_buffer);
        if (read == 0) return false;
        if (_handshakeDone) RawAfterHandshake.Write(_buffer, 0, read);
        _parser.Feed(_buffer.AsSpan(0, read));
        return true;
    }

    public void Dispose()
    {
        _client?.Dispose();
        _listener.Stop();
    }
}
