using System.Text;
using System.Xml.Linq;
using Dmuc.Xmpp;

namespace Dmuc.Xmpp.Tests;

/// <summary>Records parser events as comparable strings, and keeps the elements themselves.</summary>
internal sealed class RecordingHandler : IXmppStreamHandler
{
    public List<string> Events { get; } = [];
    public List<XElement> Elements { get; } = [];
    public List<RefusedStanza> Refused { get; } = [];
    public StreamHeader? Header { get; private set; }
    public bool Ended { get; private set; }

    public void OnStreamHeader(StreamHeader header)
    {
        Header = header;
        Events.Add($"header {header}");
    }

    public void OnElement(XElement element)
    {
        Elements.Add(element);
        Events.Add(element.ToString(SaveOptions.DisableFormatting));
    }

    public void OnRefused(RefusedStanza refused)
    {
        Refused.Add(refused);
        Events.Add($"refused {refused.Refusal} {refused.Stanza.ToString(SaveOptions.DisableFormatting)}");
    }

    public void OnStreamEnd()
    {
        Ended = true;
        Events.Add("end");
    }

    public static RecordingHandler Parse(string xml, int maxStanzaBytes = XmppStreamParser.DefaultMaxStanzaBytes,
        int maxDepth = XmppStreamParser.DefaultMaxDepth) =>
        Parse(Encoding.UTF8.GetBytes(xml), maxStanzaBytes, maxDepth);

    public static RecordingHandler Parse(byte[] xml, int maxStanzaBytes = XmppStreamParser.DefaultMaxStanzaBytes,
        int maxDepth = XmppStreamParser.DefaultMaxDepth)
    {
        var handler = new RecordingHandler();
        new XmppStreamParser(handler, maxStanzaBytes, maxDepth).Feed(xml);
        return handler;
    }
}
