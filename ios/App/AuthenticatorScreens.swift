#if os(iOS)
import Authcore
import AVFoundation
import SwiftUI

/// The account list: push accounts, then code accounts with their live codes and countdown.
struct AccountListScreen: View {
    @EnvironmentObject private var model: AppModel
    @State private var scanning = false

    var body: some View {
        NavigationStack {
            TimelineView(.periodic(from: .now, by: 1)) { context in
                let codes = Dictionary(model.codes(at: context.date).map { ($0.id, $0) }, uniquingKeysWith: { a, _ in a })
                List(model.accounts, id: \.id) { account in
                    switch account {
                    case let .push(push):
                        Label(push.label, systemImage: "bell.badge")
                    case let .otp(otp):
                        VStack(alignment: .leading) {
                            Text([otp.issuer, otp.name].compactMap { $0 }.joined(separator: ": ")).font(.caption)
                            if let code = codes[otp.id] {
                                HStack {
                                    Text(code.code).font(.title.monospacedDigit())
                                    Spacer()
                                    Text("\(code.secondsLeft) s").foregroundStyle(.secondary)
                                }
                                .onTapGesture { UIPasteboard.general.string = code.code }
                            }
                        }
                    }
                }
            }
            .navigationTitle("Authenticator")
            // Button(_:systemImage:action:) is iOS 17; the package targets iOS 16.
            .toolbar {
                Button { scanning = true } label: { Label("Add", systemImage: "qrcode.viewfinder") }
            }
            .safeAreaInset(edge: .bottom) {
                if !model.listening {
                    VStack {
                        if let error = model.error { Text(error).foregroundStyle(.red) }
                        Button("Try again") { model.listenForApprovals() }
                    }
                    .padding()
                }
            }
            .sheet(isPresented: $scanning) { ScanScreen().environmentObject(model) }
            .refreshable { model.refreshAccounts() }
            .onAppear { model.refreshAccounts() }
        }
    }
}

extension Account {
    var id: String {
        switch self {
        case let .push(account): account.deviceId
        case let .otp(account): account.id
        }
    }
}

/// The camera looks for a QR code; "Can't scan image?" takes the code and URL typed by hand.
struct ScanScreen: View {
    @EnvironmentObject private var model: AppModel
    @Environment(\.dismiss) private var dismiss
    @State private var manual = false
    @State private var code = ""
    @State private var url = ""

    var body: some View {
        NavigationStack {
            VStack {
                if manual {
                    Form {
                        TextField("Code", text: $code).textInputAutocapitalization(.never)
                        TextField("URL", text: $url).keyboardType(.URL).textInputAutocapitalization(.never)
                        Button("Add account") {
                            Task { await model.activateManually(code: code, serverURL: url); dismiss() }
                        }
                    }
                } else {
                    QRScanner { payload in
                        Task { await model.scanned(payload); dismiss() }
                    }
                    Button("Can't scan image?") { manual = true }.padding()
                }
            }
            .navigationTitle("Add account")
        }
    }
}

/// "Are you trying to sign in?": the number from the sign-in screen, typed or chosen. The core
/// asks LocalAuthentication (DeviceOwnerVerification) before it signs the answer.
struct ApprovalPromptScreen: View {
    @EnvironmentObject private var model: AppModel
    @Environment(\.dismiss) private var dismiss
    let request: ApprovalRequest
    @State private var number = ""

    var body: some View {
        NavigationStack {
            Form {
                Section(request.kind == .test ? "Finish setting up" : "Are you trying to sign in?") {
                    Text(request.accountLabel)
                    LabeledContent("App", value: request.context.app)
                    LabeledContent("From", value: [request.context.location, request.context.ip].compactMap { $0 }.joined(separator: " · "))
                    LabeledContent("Device", value: request.context.userAgent)
                }
                Section("Enter the number shown to sign in") {
                    switch request.prompt {
                    case let .enter(length):
                        TextField("\(length) digits", text: $number).keyboardType(.numberPad).font(.largeTitle)
                        Button("Yes, approve") { answer(number) }
                    case let .choose(choices):
                        ForEach(choices, id: \.self) { choice in
                            Button(choice) { answer(choice) }.font(.largeTitle)
                        }
                    }
                }
                Section {
                    Button("No, it's not me", role: .destructive) { Task { await model.deny(request, fraud: false); dismiss() } }
                    Button("Report fraud", role: .destructive) { Task { await model.deny(request, fraud: true); dismiss() } }
                }
                if let error = model.error { Text(error).foregroundStyle(.red) }
            }
        }
    }

    private func answer(_ number: String) {
        Task { if await model.approve(request, number: number) { dismiss() } }
    }
}

/// AVFoundation QR scanning: calls `found` once with the first QR code's text.
struct QRScanner: UIViewControllerRepresentable {
    let found: (String) -> Void

    func makeUIViewController(context: Context) -> ScannerController {
        let controller = ScannerController()
        controller.found = found
        return controller
    }

    func updateUIViewController(_ controller: ScannerController, context: Context) {}

    final class ScannerController: UIViewController, AVCaptureMetadataOutputObjectsDelegate {
        var found: ((String) -> Void)?
        private let session = AVCaptureSession()

        override func viewDidLoad() {
            super.viewDidLoad()
            guard let camera = AVCaptureDevice.default(for: .video),
                  let input = try? AVCaptureDeviceInput(device: camera), session.canAddInput(input) else { return }
            session.addInput(input)
            let output = AVCaptureMetadataOutput()
            guard session.canAddOutput(output) else { return }
            session.addOutput(output)
            output.setMetadataObjectsDelegate(self, queue: .main)
            output.metadataObjectTypes = [.qr]
            let preview = AVCaptureVideoPreviewLayer(session: session)
            preview.frame = view.layer.bounds
            preview.videoGravity = .resizeAspectFill
            view.layer.addSublayer(preview)
            DispatchQueue.global(qos: .userInitiated).async { [session] in session.startRunning() }
        }

        override func viewWillDisappear(_ animated: Bool) {
            super.viewWillDisappear(animated)
            session.stopRunning()
        }

        func metadataOutput(_ output: AVCaptureMetadataOutput, didOutput objects: [AVMetadataObject], from connection: AVCaptureConnection) {
            guard let text = (objects.first as? AVMetadataMachineReadableCodeObject)?.stringValue, let found else { return }
            self.found = nil
            session.stopRunning()
            found(text)
        }
    }
}
#endif
